//! The streamed body of an attempt (see [`attempt`](super::attempt)). The upstream stream is
//! decoded until its first chunk before anything is sent to the client, so an error up to then
//! still fails over; after that a background pump relays chunks, and a failure ends the stream
//! with an error chunk (`finish_reason: "error"`). An adapter that cannot stream is asked for
//! a whole answer, which becomes the stream's chunks ([`whole_stream`]).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream;
use rust_decimal::Decimal;
use serde_json::Value;
use switchyard_sdk::responses::RESPONSES_EXTENSION;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::accepted::Acceptance;
use super::exchange::{
    Exchange, exchange, header_pairs, provider_failure, record_outcome, with_headers,
};
use super::framing::{Framing, FramingError, MAX_HELD_BYTES};
use super::generation::{CHUNK, Generation};
use super::upstream::Upstream;
use super::{ChatCall, Gateway, whole_stream};
use crate::observer::Observer;
use crate::transforms::chunks::{ChunkHook, refusal_chunk};
use switchyard_accounting::tab::{Charge, Tab};
use switchyard_catalog::Endpoint;
use switchyard_catalog::credentials::ServedBy;
use switchyard_domain::error::DomainError;
use switchyard_domain::failure::Failure;
use switchyard_domain::plugin_types::{Finish, FinishReason, ProviderError, Usage};
use switchyard_domain::pricing::{Cost, cost, image_count, usage_json};
use switchyard_domain::routing_trace::RoutingTrace;
use switchyard_domain::transform_refusal::TransformRefusal;
use switchyard_plugin_runtime::output::CheckedObject;
use switchyard_plugin_runtime::{PluginRegistry, ProviderInstance, ProviderPlugin};
use switchyard_routing::Candidate;

/// How many encoded events may wait for a slow client before the pump waits too.
const CLIENT_BUFFER: usize = 64;

/// How many pieces of the upstream body that have already arrived are decoded before what they
/// hold is sent: a bound on one write (and on the time before the client sees the first).
const READY_PIECES: usize = 64;

/// The streamed body of an attempt: decodes until the first chunk, then commits the stream to
/// a background pump.
pub(super) async fn run(
    gateway: &Gateway,
    call: &ChatCall,
    candidate: &Candidate,
    routing: Option<&RoutingTrace>,
    plugin: &Arc<ProviderPlugin>,
    acceptance: &Acceptance,
) -> Result<Response, Failure> {
    let (model, endpoint) = (&candidate.model, &candidate.endpoint);
    let provider = &endpoint.provider;
    let in_flight = endpoint.stats.start();
    // An adapter that cannot stream is asked for a whole answer, streamed from here.
    let streams = plugin.descriptor().streaming;
    let Exchange {
        mut instance,
        mut response,
        started,
        deadline,
        served,
        ..
    } = exchange(gateway, call, endpoint, plugin, streams, acceptance).await?;
    let content_type = response.headers().get(header::CONTENT_TYPE);
    let framing = Framing::for_content_type(content_type.and_then(|v| v.to_str().ok()));
    let mut decoding = if streams {
        instance.start_stream(&endpoint.settings).await?;
        Decoding::new(instance, endpoint.clone(), framing)
    } else {
        let status = response.status().as_u16();
        let headers = header_pairs(response.headers());
        let body = (gateway.upstream)
            .read_body(provider, &mut response, deadline)
            .await?;
        let whole = instance
            .parse_response(status, headers, body)
            .await?
            .map_err(|error| provider_failure(endpoint, error))?;
        let mut decoding = Decoding::new(instance, endpoint.clone(), framing);
        decoding.pending = whole_stream::chunks_of(&whole.body);
        (decoding.usage, decoding.finish) = (whole.usage, whole.finish);
        decoding.done = true;
        decoding
    };

    // Nothing has gone to the client yet: any failure until the first chunk fails over.
    let mut upstream_ended = false;
    while decoding.pending.is_empty() && !decoding.done {
        match gateway
            .upstream
            .next_chunk(provider, &mut response, deadline)
            .await?
        {
            Some(bytes) => decoding.feed(&bytes).await?,
            None => {
                decoding.end().await?;
                upstream_ended = true;
                if decoding.pending.is_empty() && !decoding.done {
                    return Err(provider_failure(
                        endpoint,
                        ProviderError::UpstreamUnavailable(
                            "the stream ended before any output".to_owned(),
                        ),
                    ));
                }
                break;
            }
        }
    }
    let first_byte = started.elapsed();
    drop(in_flight);

    let generation = Generation::new(&model.id, &provider.name);
    let (sender, receiver) = mpsc::channel::<Bytes>(CLIENT_BUFFER);
    let pump = Pump {
        generation: generation.clone(),
        upstream: gateway.upstream.clone(),
        plugins: gateway.plugins.clone(),
        endpoint: endpoint.clone(),
        fee_percent: gateway.fee_percent,
        routing: routing.map(|trace| {
            let credential = served
                .as_ref()
                .and_then(|served| served.credential.as_deref());
            let mut trace = trace.with_success(&model.id, &provider.name, credential, first_byte);
            if let Some(applied) = &call.transforms {
                applied.log().write_into(&mut trace);
            }
            trace
        }),
        served,
        images: image_count(&call.request),
        response,
        decoding,
        upstream_ended,
        deadline,
        started,
        first_byte,
        sender,
        tab: call.tab.clone(),
        observer: Observer::of(call, &gateway.catalog),
        prompt_estimate: call.body.len() as u64 / 4,
        relayed: 0,
        responses_client: call.responses_client,
        exclude_reasoning: super::exclude::wanted(&call.request),
        searches: Default::default(),
        annotations: super::searched::StreamAnnotations::default(),
        chunk_hook: ChunkHook::of(call.transforms.as_ref()),
    };
    tokio::spawn(switchyard_telemetry::traces::within_current(pump.run()));

    let body = Body::from_stream(stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(bytes), receiver))
    }));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(with_headers(response, &generation, plugin))
}

/// The adapter's decoder and what it has produced so far.
struct Decoding {
    instance: ProviderInstance,
    endpoint: Arc<Endpoint>,
    framing: Framing,
    /// Decoded chunks ready to send.
    pending: Vec<CheckedObject>,
    /// Chunks from the finish reason on, held back until the terminal event confirms the stream
    /// is complete: a client must never see `stop` on a stream that was cut.
    held: Vec<CheckedObject>,
    /// The size of the upstream events behind them, capped at [`MAX_HELD_BYTES`].
    held_bytes: usize,
    usage: Option<Usage>,
    finish: Option<Finish>,
    done: bool,
}

impl Decoding {
    fn new(instance: ProviderInstance, endpoint: Arc<Endpoint>, framing: Framing) -> Self {
        Decoding {
            instance,
            endpoint,
            framing,
            pending: Vec::new(),
            held: Vec::new(),
            held_bytes: 0,
            usage: None,
            finish: None,
            done: false,
        }
    }

    /// Feeds bytes from the upstream; decodes every event they complete.
    async fn feed(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let events = self
            .framing
            .push(bytes)
            .map_err(|e| self.framing_failure(e))?;
        for event in events {
            self.decode(event).await?;
        }
        Ok(())
    }

    /// The upstream closed: decodes a last event that had no blank line after it.
    async fn end(&mut self) -> Result<(), Failure> {
        match self.framing.finish().map_err(|e| self.framing_failure(e))? {
            Some(event) => self.decode(event).await,
            None => Ok(()),
        }
    }

    fn framing_failure(&self, error: FramingError) -> Failure {
        provider_failure(
            &self.endpoint,
            ProviderError::UpstreamUnavailable(error.to_string()),
        )
    }

    async fn decode(&mut self, event: switchyard_sdk::sse::Event) -> Result<(), Failure> {
        if self.done {
            return Ok(()); // anything after the terminal event is ignored
        }
        let event_bytes = event.data.len();
        let output = self
            .instance
            .decode(event)
            .await?
            .map_err(|error| provider_failure(&self.endpoint, error))?;
        self.usage = output.usage.or(self.usage);
        self.finish = output.finish.or(self.finish.take());
        if output.done {
            self.done = true;
            self.pending.append(&mut self.held);
            self.pending.extend(output.chunks);
        } else if self.finish.is_some() {
            // The upstream events behind held chunks bound what they hold.
            self.held_bytes += event_bytes;
            if self.held_bytes > MAX_HELD_BYTES {
                let message = format!("over {MAX_HELD_BYTES} bytes after the finish reason");
                return Err(provider_failure(
                    &self.endpoint,
                    ProviderError::UpstreamUnavailable(message),
                ));
            }
            self.held.extend(output.chunks);
        } else {
            self.pending.extend(output.chunks);
        }
        Ok(())
    }
}

/// Relays a committed stream to the client.
struct Pump {
    generation: Generation,
    upstream: Upstream,
    plugins: Arc<PluginRegistry>,
    endpoint: Arc<Endpoint>,
    fee_percent: Decimal,
    /// The routing trace for the final chunk, when the client asked for it.
    routing: Option<Value>,
    images: u64,
    response: reqwest::Response,
    decoding: Decoding,
    upstream_ended: bool,
    deadline: Instant,
    started: Instant,
    first_byte: std::time::Duration,
    sender: mpsc::Sender<Bytes>,
    tab: Tab,
    /// Records the served generation's metrics.
    observer: Observer,
    /// Prompt tokens charged when a cut stream reported none (four bytes a token).
    prompt_estimate: u64,
    /// Chunks sent to the client: the completion tokens charged when a cut stream reported
    /// fewer (a streamed chunk carries about one token).
    relayed: u64,
    /// The client speaks the Responses API and gets the upstream's item markers.
    responses_client: bool,
    /// The credential that served (the account's own: charged the BYOK fee).
    served: Option<ServedBy>,
    /// The request's `reasoning.exclude`: chunks go out without their reasoning.
    exclude_reasoning: bool,
    /// Web searches and built-in tool calls the upstream reported (cumulative counts: the
    /// largest).
    searches: super::searched::ToolUse,
    /// The web-cited blocks still open, annotated as they close.
    annotations: super::searched::StreamAnnotations,
    /// The request's chunk transforms, when it has some.
    chunk_hook: Option<ChunkHook>,
}

/// How a committed stream ended.
enum Ending {
    /// The terminal event arrived.
    Done,
    /// The upstream or the adapter failed.
    Failed(Failure),
    /// The client went away.
    ClientGone,
    /// A transform refused a chunk: the stream ends there, with `content_filter`.
    Refused(TransformRefusal),
}

impl Pump {
    async fn run(mut self) {
        let endpoint = self.endpoint.clone();
        let _in_flight = endpoint.stats.start();
        let ending = self.relay().await;
        self.settle(&ending).await;
        let usage = self.decoding.usage;
        let provider = &self.endpoint.provider.name;
        let plugin = self.decoding.instance.plugin().clone();
        match &ending {
            Ending::Done | Ending::Refused(_) => record_outcome(&self.plugins, &plugin, None),
            Ending::Failed(failure) => record_outcome(&self.plugins, &plugin, Some(failure)),
            Ending::ClientGone => {}
        }
        let mut events = Events::default();
        match ending {
            Ending::Done => {
                events.push(&self.final_usage_chunk(usage));
                events.push_done();
                let elapsed = self.started.elapsed();
                let tokens = usage.map(|u| u.completion_tokens as f64);
                let seconds = elapsed.as_secs_f64();
                self.endpoint.stats.record_success(
                    self.first_byte,
                    elapsed,
                    tokens.filter(|_| seconds > 0.0).map(|t| t / seconds),
                );
                tracing::debug!(id = %self.generation.id, model = %self.generation.model, %provider, "stream served");
            }
            Ending::Failed(failure) => {
                let class = super::failover::endpoint_class(&self.endpoint, &failure, self.started);
                if let Some(class) = class {
                    self.endpoint.stats.record_failure(class);
                }
                tracing::warn!(id = %self.generation.id, %provider, kind = failure.kind(), error = %failure, "stream failed after its first chunk");
                let error = DomainError::from(failure);
                events.push(
                    &self
                        .generation
                        .error_chunk(error.status().as_u16(), &error.to_string()),
                );
                if usage.is_some() {
                    events.push(&self.final_usage_chunk(usage));
                }
            }
            Ending::ClientGone => {
                tracing::info!(id = %self.generation.id, %provider, "client disconnected; upstream stream cancelled");
            }
            Ending::Refused(refusal) => {
                tracing::info!(id = %self.generation.id, transform = %refusal.transform, code = refusal.code, "a transform ended the stream");
                events.push(&refusal_chunk(&self.generation, &refusal));
                events.push(&self.final_usage_chunk(usage));
                events.push_done();
            }
        }
        let _ = events.send(&self.sender).await;
    }

    async fn relay(&mut self) -> Ending {
        loop {
            let pending = std::mem::take(&mut self.decoding.pending);
            if let Some(ending) = self.flush(pending, false).await {
                return ending;
            }
            if self.decoding.done {
                return Ending::Done;
            }
            if self.upstream_ended {
                return Ending::Failed(provider_failure(
                    &self.endpoint,
                    ProviderError::UpstreamUnavailable(
                        "the upstream stream ended before its terminal event".to_owned(),
                    ),
                ));
            }
            let next = tokio::select! {
                _ = self.sender.closed() => return Ending::ClientGone,
                next = self.upstream.next_chunk(&self.endpoint.provider, &mut self.response, self.deadline) => next,
            };
            if let Err(failure) = self.take(next).await {
                return self.fail(failure).await;
            }
            // What else has arrived is decoded too, so the burst leaves in one write. The yield
            // lets the upstream connection's task decode its next piece from what it has read.
            for _ in 0..READY_PIECES {
                tokio::task::yield_now().await;
                let Some(next) =
                    (self.upstream).ready_chunk(&self.endpoint.provider, &mut self.response)
                else {
                    break;
                };
                if let Err(failure) = self.take(next).await {
                    return self.fail(failure).await;
                }
                if self.upstream_ended {
                    break;
                }
            }
        }
    }

    /// Decodes a piece of the upstream body, or its end.
    async fn take(&mut self, next: Result<Option<Bytes>, Failure>) -> Result<(), Failure> {
        match next? {
            Some(bytes) => self.decoding.feed(&bytes).await,
            None => {
                self.upstream_ended = true;
                self.decoding.end().await
            }
        }
    }

    /// Sends what was decoded before `failure` (held-back chunks without their finish reason:
    /// the stream did not finish), then reports the failure.
    async fn fail(&mut self, failure: Failure) -> Ending {
        let pending = std::mem::take(&mut self.decoding.pending);
        let held = std::mem::take(&mut self.decoding.held);
        if let Some(ending) = self.flush(pending, false).await {
            return ending;
        }
        self.flush(held, true)
            .await
            .unwrap_or(Ending::Failed(failure))
    }

    /// Sends chunks stamped with the generation's fields, optionally without finish reasons, in
    /// one write (one upstream read's worth of chunks wakes the client's connection once).
    /// Returns how the stream ends if it cannot go on.
    async fn flush(&mut self, chunks: Vec<CheckedObject>, strip_finish: bool) -> Option<Ending> {
        let mut events = Events::default();
        let mut refused = None;
        for mut object in chunks {
            let searches = super::searched::take_tool_use(&mut object);
            if !searches.is_empty() {
                self.searches = self.searches.max(searches);
                if carries_nothing(&object) {
                    continue;
                }
            }
            // An upstream's Responses item marker reaches Responses clients only.
            let marker = object.contains_key(RESPONSES_EXTENSION);
            if marker && !self.responses_client {
                object.remove(RESPONSES_EXTENSION);
                if carries_nothing(&object) {
                    continue;
                }
            }
            if !marker {
                self.relayed += 1;
            }
            self.annotations.annotate(&mut object);
            if let Some(hook) = &self.chunk_hook
                && let Err(refusal) = hook.apply(&mut object).await
            {
                refused = Some(Ending::Refused(refusal));
                break;
            }
            self.generation.stamp(&mut object, CHUNK);
            super::strict::chunk(&mut object);
            if self.exclude_reasoning {
                super::exclude::strip(&mut object);
            }
            if strip_finish {
                strip_finish_reasons(&mut object);
            }
            events.push(&Value::Object(object));
        }
        if events.send(&self.sender).await.is_err() {
            return Some(Ending::ClientGone);
        }
        refused
    }

    /// Charges what was generated: the reported usage, completed by estimates when the stream
    /// was cut before reporting it all. Done before the client sees the end of the stream.
    async fn settle(&mut self, ending: &Ending) {
        let usage_estimated = self.decoding.usage.is_none();
        let mut usage = (self.searches).charged(self.decoding.usage.unwrap_or_default());
        if usage_estimated || !matches!(ending, Ending::Done) {
            usage.completion_tokens = usage.completion_tokens.max(self.relayed);
            if usage.prompt_tokens == 0 {
                usage.prompt_tokens = self.prompt_estimate;
            }
        }
        let finish = match ending {
            Ending::Failed(_) => Some(FinishReason::Error),
            Ending::Refused(_) => Some(FinishReason::ContentFilter),
            _ => self.decoding.finish.as_ref().map(|finish| finish.reason),
        };
        let charge = Charge {
            id: &self.generation.id,
            model: &self.generation.model,
            provider: &self.generation.provider,
            usage,
            usage_estimated,
            cost: self.priced(&usage),
            latency: self.first_byte,
            finish_reason: finish.map(FinishReason::as_str),
            streamed: true,
            cancelled: matches!(ending, Ending::ClientGone),
            cache_hit: false,
            byok: self.served.as_ref().is_some_and(|served| served.byok),
        };
        self.observer.served(&charge, self.started.elapsed());
        self.tab.settle(charge).await;
    }

    /// What `usage` costs the client (the BYOK fee when the account's own key served).
    fn priced(&self, usage: &Usage) -> Cost {
        let full = cost(usage, &self.endpoint.prices, self.images, self.fee_percent);
        self.tab.charged(full, self.served.as_ref())
    }

    fn final_usage_chunk(&self, usage: Option<Usage>) -> Value {
        let usage = usage.unwrap_or_else(|| {
            tracing::warn!(provider = %self.endpoint.provider.name, "stream reported no usage; priced at zero");
            Usage::default()
        });
        let usage = self.searches.charged(usage);
        let cost = self.priced(&usage);
        let mut chunk = self.generation.usage_chunk(usage_json(&usage, &cost));
        if let (Some(trace), Some(object)) = (&self.routing, chunk.as_object_mut()) {
            let mut trace = trace.clone();
            if let Some(hook) = &self.chunk_hook {
                hook.log().write_into(&mut trace);
            }
            object.insert("routing".to_owned(), trace);
        }
        chunk
    }
}

/// Clears `finish_reason` (and drops `native_finish_reason`) in every choice of a chunk.
/// Whether a chunk has no choices and no usage left to send.
fn carries_nothing(chunk: &serde_json::Map<String, Value>) -> bool {
    let no_choices = chunk
        .get("choices")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    no_choices && chunk.get("usage").is_none_or(Value::is_null)
}

fn strip_finish_reasons(chunk: &mut serde_json::Map<String, Value>) {
    if let Some(Value::Array(choices)) = chunk.get_mut("choices") {
        for choice in choices.iter_mut().filter_map(Value::as_object_mut) {
            choice.insert("finish_reason".to_owned(), Value::Null);
            choice.remove("native_finish_reason");
        }
    }
}

/// Server-sent events encoded for the client and sent together.
#[derive(Default)]
struct Events(Vec<u8>);

impl Events {
    /// Adds one `data:` event holding `value`.
    fn push(&mut self, value: &Value) {
        if self.0.is_empty() {
            self.0.reserve(256);
        }
        self.0.extend_from_slice(b"data: ");
        // Serialising a Value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.0, value);
        self.0.extend_from_slice(b"\n\n");
    }

    /// Adds the terminal `data: [DONE]` event.
    fn push_done(&mut self) {
        self.0.extend_from_slice(b"data: [DONE]\n\n");
    }

    /// Sends what was added, if anything. Fails only when the client has gone.
    async fn send(self, sender: &mpsc::Sender<Bytes>) -> Result<(), mpsc::error::SendError<Bytes>> {
        if self.0.is_empty() {
            return Ok(());
        }
        sender.send(Bytes::from(self.0)).await
    }
}
