//! The Anthropic Messages API: `POST /v1/messages` (streamed or not), `POST
//! /v1/messages/count_tokens` and `GET /v1/models` in Anthropic's shape, so that Claude Code and
//! the `anthropic` SDKs work through Switchyard.
//!
//! A Messages request is translated into the canonical chat request ([`request`]) and served by
//! the same validation and gateway as `POST /v1/chat/completions`: routing, failover, pricing,
//! accounting and the generation record are the chat path's. The answer is translated back
//! ([`response`], [`stream`], cited text blocks with [`citations`]); errors take Anthropic's
//! shape ([`error`]). The key may come as `x-api-key` or `Authorization: Bearer`. The client's
//! `anthropic-beta` and `anthropic-version` headers travel in the canonical request's Anthropic
//! extension ([`extension`]), for Anthropic-native upstreams only.

pub mod citations;
pub mod error;
pub mod extension;
pub mod models;
pub mod names;
pub mod request;
pub mod response;
pub mod server_tools;
pub mod stream;

use std::convert::Infallible;

use axum::body::{Body, BodyDataStream};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};
use switchyard_sdk::sse::SseParser;

use super::AppState;
use super::chat;
use super::request_limits;
use names::ToolNames;
use stream::Transcoder;
use switchyard_accounting::tab::Tab;
use switchyard_routing::sticky::Session;

/// Serves `POST /v1/messages`.
pub async fn messages(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let headers = api_key_as_bearer(headers);
    let tab = match admit(&state, &headers).await {
        Ok(tab) => tab,
        Err(response) => return response,
    };
    let (value, translated) = match read(&state, body, false).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let model = value
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let request::Translated {
        mut chat,
        names,
        mut extension,
        stream,
    } = translated;
    extension.headers(&headers);
    extension.write(&mut chat);
    let chat_body = Value::Object(chat).to_string();
    let mut call = match chat::validate(Bytes::from(chat_body), chat::ResponsesItems::Refused) {
        Ok(call) => call,
        Err(error) => return error::render(error),
    };
    call.tab = tab;
    let user = call.request.extra.get("user");
    if let Err(error) = super::end_user::identify(&state, &headers, &call.tab, user).await {
        return error::render(error);
    }
    call.debug_routing = chat::wants_routing_trace(&headers);
    call.session = Session::of(&headers, &call.request);
    call.cache = switchyard_gateway::cache::Directives::of(&headers);
    let response = match state.gateway.chat(call).await {
        Ok(response) => response,
        Err(error) => return error::render(error),
    };
    if stream {
        transcode_stream(response, Transcoder::new(names, model))
    } else {
        translate_message(response, &names, &model).await
    }
}

/// Serves `POST /v1/messages/count_tokens`: `{"input_tokens": N}`, an estimate (four characters
/// a token, about 1,600 a picture or document) for a model the catalog knows.
pub async fn count_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let headers = api_key_as_bearer(headers);
    if let Err(response) = admit(&state, &headers).await {
        return response;
    }
    let (value, translated) = match read(&state, body, true).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let model = value
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if state.gateway.catalog.resolve(model).is_none() {
        return error::unknown_model(model);
    }
    let mut characters = 0;
    let mut attachments = 0;
    for field in ["messages", "tools"] {
        if let Some(value) = translated.chat.get(field) {
            measure(value, &mut characters, &mut attachments);
        }
    }
    let tokens = characters.div_ceil(4) + attachments * 1600;
    axum::Json(json!({"input_tokens": tokens.max(1)})).into_response()
}

/// Adds up the characters of the strings in `value` (not roles and part types), counting data
/// URIs as attachments.
fn measure(value: &Value, characters: &mut u64, attachments: &mut u64) {
    match value {
        Value::String(text) if text.starts_with("data:") => *attachments += 1,
        Value::String(text) => *characters += text.chars().count() as u64,
        Value::Array(items) => items
            .iter()
            .for_each(|item| measure(item, characters, attachments)),
        Value::Object(object) => object
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "role" | "type"))
            .for_each(|(_, item)| measure(item, characters, attachments)),
        _ => {}
    }
}

/// `HEAD /` (and `GET /`), which Claude Code sends to check the base URL.
pub async fn root() -> StatusCode {
    StatusCode::OK
}

/// Anthropic clients send the key as `x-api-key`: it becomes the bearer token the accounting
/// reads, unless the request has an `Authorization` header already.
fn api_key_as_bearer(mut headers: HeaderMap) -> HeaderMap {
    if headers.contains_key(header::AUTHORIZATION) {
        return headers;
    }
    let bearer = headers
        .get("x-api-key")
        .and_then(|key| key.to_str().ok())
        .and_then(|key| HeaderValue::from_str(&format!("Bearer {key}")).ok());
    if let Some(bearer) = bearer {
        headers.insert(header::AUTHORIZATION, bearer);
    }
    headers
}

/// The request's tab: its key authorized and within its rate limits, when accounting is on.
async fn admit(state: &AppState, headers: &HeaderMap) -> Result<Tab, Response> {
    match &state.accounting {
        Some(accounting) => accounting.admit(headers).await.map_err(error::render),
        None => Ok(Tab::default()),
    }
}

/// Reads and translates the body.
async fn read(
    state: &AppState,
    body: Body,
    counting: bool,
) -> Result<(Value, request::Translated), Response> {
    let bytes = chat::read_body(body, state.max_body_bytes)
        .await
        .map_err(error::render)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| error::invalid(format!("request body is not valid JSON: {e}")))?;
    if let Value::Object(object) = &value {
        request_limits::check_counts(object).map_err(error::render)?;
    }
    let translated = request::translate(&value, counting).map_err(error::render)?;
    Ok((value, translated))
}

/// The gateway's `chat.completion` as a `message`, with the gateway's headers.
async fn translate_message(response: Response, names: &ToolNames, model: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    let completion = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let message = response::message(&completion, names, model);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(message.to_string()))
}

/// The gateway's chat chunk stream transcoded into Anthropic's events, with its headers.
fn transcode_stream(response: Response, transcoder: Transcoder) -> Response {
    let (parts, body) = response.into_parts();
    let relay = Relay {
        body: body.into_data_stream(),
        parser: SseParser::new(),
        transcoder,
        done: false,
    };
    let events = futures_util::stream::unfold(relay, |mut relay| async move {
        let bytes = relay.next().await?;
        Some((Ok::<_, Infallible>(Bytes::from(bytes)), relay))
    });
    Response::from_parts(parts, Body::from_stream(events))
}

/// Reads the chat stream and writes Anthropic events.
struct Relay {
    body: BodyDataStream,
    parser: SseParser,
    transcoder: Transcoder,
    done: bool,
}

impl Relay {
    /// The next non-empty piece of output; `None` at the end.
    async fn next(&mut self) -> Option<Vec<u8>> {
        while !self.done {
            let mut out = Vec::new();
            match self.body.next().await {
                Some(Ok(bytes)) => {
                    for event in self.parser.push(&bytes) {
                        out.extend(self.transcoder.data(&event.data));
                    }
                }
                Some(Err(_)) | None => {
                    self.done = true;
                    if let Some(event) = self.parser.finish() {
                        out.extend(self.transcoder.data(&event.data));
                    }
                    out.extend(self.transcoder.end());
                }
            }
            if !out.is_empty() {
                return Some(out);
            }
        }
        None
    }
}
