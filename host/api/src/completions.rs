//! `POST /v1/completions` and `/api/v1/completions`: the legacy prompt-in, text-out API in front
//! of the chat request path. The prompt becomes one user message, the request is served exactly
//! like `POST /v1/chat/completions` (presets, routing, failover, cost, accounting), and the answer
//! comes back as a `text_completion` object or a stream of them.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Map, Value, json};
use switchyard_sdk::sse::SseParser;

use super::AppState;
use super::chat::{ResponsesItems, admit_and_read, validate, wants_routing_trace};
use super::error::ApiError;
use switchyard_gateway::ChatCall;
use switchyard_routing::sticky::Session;

/// Legacy fields with no chat equivalent: refused unless unset or at their neutral value.
const REFUSED: [(&str, &str); 3] = [
    ("echo", "`echo` is not supported"),
    ("suffix", "`suffix` (insertion) is not supported"),
    ("best_of", "`best_of` is not supported"),
];

/// Serves a legacy completion, streamed or not.
pub async fn completions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (tab, bytes) = match admit_and_read(&state, &headers, body).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let chat = match to_chat(&bytes).and_then(|chat| state.presets.apply(chat)) {
        Ok(chat) => chat,
        Err(error) => return error.into_response(),
    };
    let mut call = match validate(chat, ResponsesItems::Refused) {
        Ok(call) => ChatCall { tab, ..call },
        Err(error) => return error.into_response(),
    };
    let user = call.request.extra.get("user");
    if let Err(error) = super::end_user::identify(&state, &headers, &call.tab, user).await {
        return error.into_response();
    }
    call.debug_routing = wants_routing_trace(&headers);
    call.session = Session::of(&headers, &call.request);
    call.cache = switchyard_gateway::cache::Directives::of(&headers);
    let stream = call.stream;
    match state.gateway.chat(call).await {
        Ok(answer) if stream => stream_text(answer),
        Ok(answer) => whole_text(answer).await,
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// The chat request for a legacy one: `prompt` → one user message, the rest as it is.
fn to_chat(body: &[u8]) -> Result<Bytes, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("request body is not valid JSON: {e}")))?;
    let Value::Object(mut request) = value else {
        return Err(ApiError::invalid_request(
            "request body must be a JSON object",
        ));
    };
    if request.contains_key("messages") {
        return Err(ApiError::invalid_request(
            "`messages` belongs to POST /v1/chat/completions; send `prompt` here",
        ));
    }
    let prompt = match request.remove("prompt") {
        Some(Value::String(prompt)) => prompt,
        Some(Value::Array(prompts)) => match prompts.as_slice() {
            [Value::String(prompt)] => prompt.clone(),
            _ => {
                return Err(ApiError::invalid_request(
                    "`prompt` must be a string or an array of one string (no batches, no token ids)",
                ));
            }
        },
        None | Some(Value::Null) => {
            return Err(
                ApiError::invalid_request("`prompt` is required").with_code("missing_prompt")
            );
        }
        Some(_) => return Err(ApiError::invalid_request("`prompt` must be a string")),
    };
    for (field, message) in REFUSED {
        match request.remove(field) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => {}
            Some(Value::Number(n)) if field == "best_of" && n.as_u64() == Some(1) => {}
            Some(_) => {
                return Err(ApiError::invalid_request(message).with_code("unsupported_parameter"));
            }
        }
    }
    if let Some(logprobs) = request.remove("logprobs")
        && !logprobs.is_null()
    {
        return Err(ApiError::invalid_request(
            "`logprobs` is not supported on completions: use POST /v1/chat/completions",
        )
        .with_code("unsupported_parameter"));
    }
    request.insert(
        "messages".to_owned(),
        json!([{ "role": "user", "content": prompt }]),
    );
    serde_json::to_vec(&request)
        .map(Bytes::from)
        .map_err(|error| ApiError::invalid_request(error.to_string()))
}

/// A `chat.completion` or `chat.completion.chunk` as a `text_completion`: each choice's text is
/// its message's (or delta's) content; usage and the other top-level fields are kept.
fn to_text(completion: Map<String, Value>) -> Value {
    let mut text = completion;
    text.insert("object".to_owned(), json!("text_completion"));
    if let Some(Value::Array(choices)) = text.get_mut("choices") {
        for choice in choices.iter_mut() {
            let Value::Object(choice) = choice else {
                continue;
            };
            let message = choice.remove("message").or_else(|| choice.remove("delta"));
            let content = message
                .as_ref()
                .and_then(|m| m.get("content"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            choice.insert("text".to_owned(), Value::String(content));
            choice.insert("logprobs".to_owned(), Value::Null);
            choice.entry("finish_reason").or_insert(Value::Null);
            choice.remove("native_finish_reason");
        }
    }
    Value::Object(text)
}

async fn whole_text(answer: Response) -> Response {
    let (mut parts, body) = answer.into_parts();
    let completion = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes).ok(),
        Err(_) => None,
    };
    let Some(Value::Object(completion)) = completion else {
        return ApiError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            "the chat answer could not be read as a completion",
        )
        .into_response();
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let (json_parts, body) = Json(to_text(completion)).into_response().into_parts();
    parts.headers.extend(json_parts.headers);
    Response::from_parts(parts, body)
}

/// Rewrites each chunk of a chat stream as a `text_completion` chunk; `[DONE]` ends it as before.
fn stream_text(answer: Response) -> Response {
    let (parts, body) = answer.into_parts();
    let events = futures_util::stream::unfold(
        (body.into_data_stream(), SseParser::new(), false),
        |(mut chunks, mut parser, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let (events, ended) = match chunks.next().await {
                    Some(Ok(bytes)) => (parser.push(&bytes), false),
                    Some(Err(_)) | None => (parser.finish().into_iter().collect(), true),
                };
                let mut out = Vec::new();
                for event in events {
                    let data = match serde_json::from_str::<Value>(&event.data) {
                        Ok(Value::Object(chunk)) => to_text(chunk).to_string(),
                        _ => event.data,
                    };
                    out.extend_from_slice(b"data: ");
                    out.extend_from_slice(data.as_bytes());
                    out.extend_from_slice(b"\n\n");
                }
                if !out.is_empty() || ended {
                    let item = Ok::<_, std::convert::Infallible>(Bytes::from(out));
                    return Some((item, (chunks, parser, ended)));
                }
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_becomes_one_user_message_and_legacy_extras_are_refused() {
        let chat = to_chat(br#"{"model":"a/b","prompt":["Say hi"],"max_tokens":5,"echo":false}"#)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .unwrap_or_default();
        assert_eq!(
            chat["messages"],
            json!([{"role": "user", "content": "Say hi"}])
        );
        assert_eq!(chat["max_tokens"], 5);
        assert!(chat.get("prompt").is_none() && chat.get("echo").is_none());
        for body in [
            r#"{"model":"a/b"}"#,
            r#"{"model":"a/b","prompt":["a","b"]}"#,
            r#"{"model":"a/b","prompt":[1,2]}"#,
            r#"{"model":"a/b","prompt":"x","echo":true}"#,
            r#"{"model":"a/b","prompt":"x","suffix":"y"}"#,
            r#"{"model":"a/b","prompt":"x","logprobs":2}"#,
        ] {
            assert!(to_chat(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn answers_and_chunks_become_text_completions() {
        let answer = json!({"id": "gen-1", "object": "chat.completion", "model": "a/b",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
        let Value::Object(answer) = answer else {
            return;
        };
        let text = to_text(answer);
        assert_eq!(text["object"], "text_completion");
        assert_eq!(text["choices"][0]["text"], "Hi");
        assert_eq!(text["choices"][0]["finish_reason"], "stop");
        assert!(text["choices"][0].get("message").is_none());
        assert_eq!(text["usage"]["total_tokens"], 2);
        let chunk = json!({"id": "gen-1", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": "H"}, "finish_reason": null}]});
        let Value::Object(chunk) = chunk else { return };
        assert_eq!(to_text(chunk)["choices"][0]["text"], "H");
    }
}
