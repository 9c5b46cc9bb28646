//! The response cache on the request path ([`crate::cache`]): the one lookup, after the
//! request is parsed (and transformed), before routing. A hit makes no upstream call; it passes
//! the checks a real call passes (the key's allow-lists for the model and provider that served
//! the stored answer, its budgets through the hold; rate limits were applied on admission),
//! gets a generation of its own (id, record, cost: a share of the stored answer's price plus
//! the platform fee, `cache_hit` in the record and in `usage`), and is rendered whole or
//! streamed as the request asks. A miss stores the answer once it is complete: a whole one at
//! once, a stream when it ended well (put back together by [`Assembler`]).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use rust_decimal::Decimal;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use switchyard_sdk::openai::ChatRequest;
use switchyard_sdk::sse::SseParser;

use super::embeddings::{EmbeddingsCall, embeddings_usage};
use super::generation::{CHUNK, COMPLETION, Generation};
use super::passed_output::PassedOutput;
use super::{ChatCall, Gateway, whole_stream};
use crate::cache::assemble::Assembler;
use crate::cache::entry::Entry;
use crate::cache::key::{KeyParts, Tenant};
use crate::cache::{self, Cache, Lookup, Outcome, Pending};
use crate::transforms::Applied;
use switchyard_accounting::tab::{Charge, Tab};
use switchyard_domain::error::DomainError;
use switchyard_domain::plugin_types::Usage;
use switchyard_domain::pricing::{share_of, usage_json};
use switchyard_routing::Candidate;

/// What the key of `call` is built from when transforms ran on it: the transforms (their
/// versions are in the key), and the client's request as it came. Not the transformed one: two
/// requests that differ only in what a transform masked (`pii-redact` turns two people's e-mail
/// addresses into one placeholder, then restores each one's in the answer) must not share an
/// entry.
fn keyed(call: &ChatCall) -> (Option<&Applied>, &ChatRequest) {
    let Some(applied) = call
        .transforms
        .as_deref()
        .filter(|applied| !applied.is_empty())
    else {
        return (None, &call.request);
    };
    let request = applied.original_request().unwrap_or(&call.request);
    (Some(applied), request)
}

/// Serves a chat request from the cache, or routes it and stores its answer.
pub(super) async fn chat(gateway: &Gateway, call: &ChatCall) -> Result<Response, DomainError> {
    let tenant = tenant(&call.tab);
    let (applied, keyed_request) = keyed(call);
    let parts = KeyParts {
        tenant,
        scope: gateway.cache.scope(),
        transforms: &[],
        routing_policy: call.tab.routing_policy(),
        shape: if call.responses_client {
            "responses"
        } else {
            "chat"
        },
    };
    let request = cache::Request {
        directives: call.cache,
        tenant,
        deterministic: keyed_request.temperature == Some(0.0),
    };
    // The key (and the transforms' versions in it) is worked out only when the cache is used.
    let lookup = gateway
        .cache
        .lookup(request, || {
            let versions = applied.map(Applied::versions);
            let transforms: Vec<&str> = versions.iter().map(String::as_str).collect();
            KeyParts {
                transforms: &transforms,
                ..parts
            }
            .chat(keyed_request)
        })
        .await;
    let pending = match lookup {
        Lookup::Bypass => {
            let answer = gateway.route_and_try(call).await?;
            return Ok(with_outcome(answer, Outcome::Bypass));
        }
        Lookup::Hit(entry, pending) => match hit(gateway, &call.tab, &entry, call.stream).await? {
            Some(hit) => {
                let answer = render_chat(&entry, &hit, call.stream);
                return Ok(with_outcome(answer, Outcome::Hit));
            }
            None => pending,
        },
        Lookup::Miss(pending) => pending,
    };
    let answer = gateway.route_and_try(call).await?;
    let answer = if call.stream {
        capture_stream(gateway.cache.clone(), pending, answer)
    } else {
        capture_whole(gateway.cache.clone(), pending, answer).await
    };
    Ok(with_outcome(answer, Outcome::Miss))
}

/// Serves an embeddings request from the cache, or routes it and stores its answer.
pub(super) async fn embeddings(
    gateway: &Gateway,
    call: &EmbeddingsCall,
) -> Result<Response, DomainError> {
    let tenant = tenant(&call.tab);
    let parts = KeyParts {
        tenant,
        scope: gateway.cache.scope(),
        // Embeddings run no transforms.
        transforms: &[],
        routing_policy: call.tab.routing_policy(),
        shape: if call.base64 {
            "embeddings-base64"
        } else {
            "embeddings"
        },
    };
    let request = cache::Request {
        directives: call.cache,
        tenant,
        deterministic: true,
    };
    let preferences = format!("{:?}", call.preferences);
    let lookup = gateway
        .cache
        .lookup(request, || {
            parts.embeddings(&call.body, &call.models, &preferences)
        })
        .await;
    let pending = match lookup {
        Lookup::Bypass => {
            let answer = gateway.route_and_embed(call).await?;
            return Ok(with_outcome(answer, Outcome::Bypass));
        }
        Lookup::Hit(entry, pending) => match hit(gateway, &call.tab, &entry, false).await? {
            Some(hit) => {
                let list = Stamped {
                    body: &entry.body,
                    generation: &hit.generation,
                    object: "list",
                    created: false,
                    usage: &embeddings_usage(hit.usage.clone()),
                };
                let answer = json_answer(&list, &hit.generation);
                return Ok(with_outcome(answer, Outcome::Hit));
            }
            None => pending,
        },
        Lookup::Miss(pending) => pending,
    };
    let answer = gateway.route_and_embed(call).await?;
    let answer = capture_whole(gateway.cache.clone(), pending, answer).await;
    Ok(with_outcome(answer, Outcome::Miss))
}

/// The requester as the cache sees it.
fn tenant(tab: &Tab) -> Tenant<'_> {
    Tenant {
        key: tab.key_account_and_team(),
    }
}

/// A hit that passed the checks and was charged.
struct Hit {
    generation: Generation,
    /// The `usage` object of the hit: the stored answer's tokens, the hit's cost.
    usage: Value,
}

/// Checks and charges a hit of `entry`; `None` when its endpoint is gone from the catalog (the
/// request is then served as a miss).
async fn hit(
    gateway: &Gateway,
    tab: &Tab,
    entry: &Entry,
    streamed: bool,
) -> Result<Option<Hit>, DomainError> {
    let account = tab.key_and_account().map(|(_, account)| account);
    if account.is_some() {
        let Some(candidate) = candidate(gateway, entry) else {
            return Ok(None);
        };
        tab.admit_candidates(&mut vec![candidate])?;
    }
    let cost = share_of(
        entry.upstream_cost,
        gateway.cache.hit_price_fraction(),
        gateway.fee_percent,
    );
    tab.reserve(Some(cost.total), std::iter::once(entry.model.as_str()))
        .await?;
    let generation = Generation::new(&entry.model, &entry.provider);
    let usage = Usage::from(entry.usage);
    let charge = Charge {
        id: &generation.id,
        model: &generation.model,
        provider: &generation.provider,
        usage,
        usage_estimated: false,
        cost,
        latency: std::time::Duration::ZERO,
        finish_reason: finish_reason(entry.finish_reason.as_deref()),
        streamed,
        cancelled: false,
        cache_hit: true,
        byok: false,
    };
    crate::served_spans::served(&charge);
    tab.settle(charge).await;
    let saved = (entry.total_cost - cost.total).max(Decimal::ZERO);
    (gateway.cache.stats()).hit(&entry.model, account.unwrap_or("operator"), saved);
    let mut usage = usage_json(&usage, &cost);
    if let Some(object) = usage.as_object_mut() {
        object.insert("cache_hit".to_owned(), Value::Bool(true));
    }
    Ok(Some(Hit { generation, usage }))
}

/// The catalog's candidate for the model and provider that served `entry`.
fn candidate(gateway: &Gateway, entry: &Entry) -> Option<Candidate> {
    let model = gateway.catalog.model(&entry.model)?;
    let endpoint = model
        .endpoints
        .iter()
        .find(|endpoint| endpoint.provider.name == entry.provider)?;
    Some(Candidate {
        model: model.clone(),
        endpoint: endpoint.clone(),
    })
}

/// A stored finish reason as the record spells it.
fn finish_reason(reason: Option<&str>) -> Option<&'static str> {
    use switchyard_domain::plugin_types::FinishReason::{ContentFilter, Length, Stop, ToolCalls};
    [Stop, Length, ToolCalls, ContentFilter]
        .into_iter()
        .map(|reason| reason.as_str())
        .find(|known| Some(*known) == reason)
}

/// A hit rendered as the request asks: a whole `chat.completion`, or its chunks, the usage
/// chunk and `[DONE]`.
fn render_chat(entry: &Entry, hit: &Hit, stream: bool) -> Response {
    if !stream {
        let completion = Stamped {
            body: &entry.body,
            generation: &hit.generation,
            object: COMPLETION,
            created: true,
            usage: &hit.usage,
        };
        return json_answer(&completion, &hit.generation);
    }
    let mut events = Vec::with_capacity(4096);
    // Each chunk is stamped with the hit's own generation.
    for mut chunk in whole_stream::chunks_of(&entry.body) {
        hit.generation.stamp(&mut chunk, CHUNK);
        push_event(&mut events, &Value::Object(chunk));
    }
    push_event(&mut events, &hit.generation.usage_chunk(hit.usage.clone()));
    events.extend_from_slice(b"data: [DONE]\n\n");
    let mut response = Response::new(Body::from(events));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    with_generation(response, &hit.generation)
}

fn push_event(events: &mut Vec<u8>, value: &Value) {
    events.extend_from_slice(b"data: ");
    // Serialising a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *events, value);
    events.extend_from_slice(b"\n\n");
}

/// A stored answer as one generation's: its id, kind, time, model and provider, then the stored
/// fields, then its `usage`; serialised from the entry as it is, without a copy.
struct Stamped<'a> {
    body: &'a Map<String, Value>,
    generation: &'a Generation,
    /// The `object` field.
    object: &'a str,
    /// Whether it carries `created` (a completion does, an embeddings list does not).
    created: bool,
    usage: &'a Value,
}

impl Serialize for Stamped<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const STAMPED: &[&str] = &["id", "object", "created", "model", "provider", "usage"];
        let generation = self.generation;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &generation.id)?;
        map.serialize_entry("object", self.object)?;
        if self.created {
            map.serialize_entry("created", &generation.created)?;
        }
        map.serialize_entry("model", &generation.model)?;
        map.serialize_entry("provider", &generation.provider)?;
        for (name, value) in self.body {
            if !STAMPED.contains(&name.as_str()) {
                map.serialize_entry(name, value)?;
            }
        }
        map.serialize_entry("usage", self.usage)?;
        map.end()
    }
}

fn json_answer(object: &impl Serialize, generation: &Generation) -> Response {
    match serde_json::to_vec(object) {
        Ok(bytes) => {
            let json = HeaderValue::from_static("application/json");
            let response = ([(header::CONTENT_TYPE, json)], bytes).into_response();
            with_generation(response, generation)
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

fn with_generation(mut response: Response, generation: &Generation) -> Response {
    if let Ok(value) = HeaderValue::from_str(&generation.id) {
        response.headers_mut().insert("x-generation-id", value);
    }
    response
}

fn with_outcome(mut response: Response, outcome: Outcome) -> Response {
    response
        .headers_mut()
        .insert(cache::HEADER, outcome.header());
    response
}

/// Serves a whole answer, stored first when it succeeded and fits (an answer carrying an
/// upstream's own Responses items is not stored: they belong to that upstream's conversation).
async fn capture_whole(cache: Arc<Cache>, pending: Pending, answer: Response) -> Response {
    if answer.status() != StatusCode::OK || answer.extensions().get::<PassedOutput>().is_some() {
        return answer;
    }
    let (parts, body) = answer.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "a whole answer could not be read for the cache");
            return Response::from_parts(parts, Body::empty());
        }
    };
    if !cache.fits(bytes.len()) {
        cache.stats().oversize();
    } else if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&bytes)
        && let Some(entry) = Entry::of_answer(object)
    {
        cache.store(&pending, entry).await;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Relays a stream as it is, putting it back together on the way; stores it once it ended
/// well. A client that leaves drops the relay, and nothing is stored.
fn capture_stream(cache: Arc<Cache>, pending: Pending, answer: Response) -> Response {
    if answer.status() != StatusCode::OK {
        return answer;
    }
    let (parts, body) = answer.into_parts();
    let relay = Relay {
        limit: cache.max_entry_bytes(),
        cache,
        pending,
        parser: SseParser::new(),
        assembler: Assembler::default(),
    };
    let state = (body.into_data_stream(), Some(relay));
    let relayed = futures_util::stream::unfold(state, |(mut data, mut relay)| async move {
        match data.next().await {
            Some(Ok(bytes)) => {
                if let Some(relay) = relay.as_mut() {
                    relay.feed(&bytes);
                }
                Some((Ok(bytes), (data, relay)))
            }
            // A broken stream is not stored.
            Some(Err(error)) => Some((Err(error), (data, None))),
            None => {
                if let Some(relay) = relay {
                    relay.finish().await;
                }
                None
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(relayed))
}

/// What a relayed stream keeps for the cache.
struct Relay {
    cache: Arc<Cache>,
    pending: Pending,
    parser: SseParser,
    assembler: Assembler,
    limit: usize,
}

impl Relay {
    fn feed(&mut self, bytes: &Bytes) {
        for event in self.parser.push(bytes) {
            self.assembler.push(&event.data, self.limit);
        }
    }

    /// The stream ended: stores the answer if it ended well, before the client sees the end.
    async fn finish(mut self) {
        if let Some(event) = self.parser.finish() {
            self.assembler.push(&event.data, self.limit);
        }
        if self.assembler.oversized() {
            self.cache.stats().oversize();
            return;
        }
        let Some(entry) = self.assembler.finish().and_then(Entry::of_answer) else {
            return;
        };
        self.cache.store(&self.pending, entry).await;
    }
}
