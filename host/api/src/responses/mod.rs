//! `POST /v1/responses`: OpenAI's Responses API in front of the chat request path. The request
//! is translated into a canonical chat request and served exactly like
//! `POST /v1/chat/completions` (routing, failover, cost, accounting, generation records); the
//! answer is translated back into a `response` object, or a stream of Responses events.

mod events;
mod output;
mod request;
mod tools;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;
use switchyard_sdk::sse::SseParser;

use super::AppState;
use super::chat::{ResponsesItems, admit_and_read, validate, wants_routing_trace};
use super::error::ApiError;
use events::Translator;
use request::Echo;
use switchyard_gateway::ChatCall;
use switchyard_gateway::passed_output::PassedOutput;
use switchyard_gateway::searched;

/// Serves a Responses API request, streamed or not.
pub async fn create_response(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (tab, bytes) = match admit_and_read(&state, &headers, body).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let translated = match request::translate(&bytes) {
        Ok(translated) => translated,
        Err(error) => return error.into_response(),
    };
    let chat = Bytes::from(serde_json::to_vec(&translated.chat).unwrap_or_default());
    let mut call = match validate(chat, ResponsesItems::Checked) {
        Ok(call) => ChatCall { tab, ..call },
        Err(error) => return error.into_response(),
    };
    let user = call.request.extra.get("user");
    if let Err(error) = super::end_user::identify(&state, &headers, &call.tab, user).await {
        return error.into_response();
    }
    call.debug_routing = wants_routing_trace(&headers);
    call.cache = switchyard_gateway::cache::Directives::of(&headers);
    if translated.offers_web_search {
        call.offered_search = searched::offered(&call);
    }
    let stream = call.stream;
    match state.gateway.chat(call).await {
        Ok(answer) if stream => stream_events(answer, translated.echo),
        Ok(answer) => whole_response(answer, translated.echo).await,
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// Rewrites a `chat.completion` answer as a `response` object, keeping the gateway's headers;
/// its output items are the upstream's own when a Responses upstream answered.
async fn whole_response(answer: Response, echo: Echo) -> Response {
    let (mut parts, body) = answer.into_parts();
    let completion = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes).ok(),
        Err(_) => None,
    };
    let Some(Value::Object(completion)) = completion else {
        return ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "upstream_error",
            "the chat answer could not be read as a completion",
        )
        .into_response();
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let passed = parts.extensions.remove::<PassedOutput>();
    let (json_parts, body) = Json(output::from_completion(&completion, &echo, passed))
        .into_response()
        .into_parts();
    parts.headers.extend(json_parts.headers);
    Response::from_parts(parts, body)
}

/// Rewrites a stream of chat chunks as Responses events. Dropping the client's stream drops the
/// gateway's, which the gateway sees as the client leaving.
fn stream_events(answer: Response, echo: Echo) -> Response {
    let (parts, body) = answer.into_parts();
    let state = (
        body.into_data_stream(),
        SseParser::new(),
        Translator::new(echo),
        false,
    );
    let events = futures_util::stream::unfold(
        state,
        |(mut chunks, mut parser, mut translator, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let (out, ended) = match chunks.next().await {
                    Some(Ok(bytes)) => {
                        let mut out = Vec::new();
                        for event in parser.push(&bytes) {
                            out.extend(translator.push(&event.data));
                        }
                        (out, false)
                    }
                    Some(Err(_)) | None => {
                        let mut out = Vec::new();
                        if let Some(event) = parser.finish() {
                            out.extend(translator.push(&event.data));
                        }
                        out.extend(translator.end());
                        (out, true)
                    }
                };
                if !out.is_empty() || ended {
                    let item = Ok::<_, std::convert::Infallible>(Bytes::from(out));
                    return Some((item, (chunks, parser, translator, ended)));
                }
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(events))
}
