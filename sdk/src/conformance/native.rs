//! The conformance kit run natively over a [`Provider`]: what
//! [`testing::conformance`](crate::testing::conformance) does in a plugin's own `cargo test`.

use std::path::Path;

use super::checks::{
    self, Counts, DecodedStream, FixtureReport, Outcome, ParsedBody, Produced, Report,
};
use super::recording::{self, Answer, DONE, Exchange};
use crate::provider::{
    EndpointSettings, Finish, HttpResponse, PluginError, Provider, SseEvent, StreamDecoder, Usage,
};
use crate::sse::Event;

/// Replays every recording of `dir` through adapter `P` for `endpoint` and checks its answers.
pub fn conformance<P: Provider>(
    dir: &Path,
    endpoint: &EndpointSettings,
) -> std::io::Result<Report> {
    let fixtures = recording::read_dir(dir)?
        .into_iter()
        .map(|recording| FixtureReport {
            outcomes: replay::<P>(&recording.answer, endpoint),
            fixture: recording.name,
        })
        .collect();
    Ok(Report { fixtures })
}

fn replay<P: Provider>(answer: &Answer, endpoint: &EndpointSettings) -> Vec<Outcome> {
    match answer {
        Answer::Body {
            body,
            error_status: None,
        } => match P::parse_response(response(200, body)) {
            Ok(parsed) => checks::completion(&ParsedBody {
                body: parsed.body,
                usage: parsed.usage.as_ref().map(counts),
                finish: parsed.finish.as_ref().map(finish),
            }),
            Err(error) => vec![Outcome {
                check: "parse-response",
                failure: Some(format!("{}: {}", kind(&error), message(&error))),
            }],
        },
        Answer::Body {
            body,
            error_status: Some(status),
        } => {
            let refused = P::parse_response(response(200, body)).is_err();
            let error = P::parse_error(response(status.unwrap_or(400), body));
            checks::error(*status, refused, kind(&error))
        }
        Answer::Stream {
            events,
            data_only,
            reports_error,
        } => {
            let (decoded, fed) = decode::<P::Decoder>(endpoint, events, *data_only);
            let cut = &fed[..fed.len().saturating_sub(1)];
            let (cut_decoded, _) = decode::<P::Decoder>(endpoint, cut, false);
            checks::stream(&decoded, *reports_error, cut_decoded.done)
        }
        Answer::Exchange(exchange) => replay_exchange::<P>(exchange, endpoint),
    }
}

/// Replays an exchange as the gateway would: an unsuccessful status through `parse-error`, a
/// stream through the decoder when the adapter streams, anything else through
/// `parse-response`; then checks the expectation.
fn replay_exchange<P: Provider>(exchange: &Exchange, endpoint: &EndpointSettings) -> Vec<Outcome> {
    let response = HttpResponse {
        status: exchange.status,
        headers: exchange.headers.clone(),
        body: exchange.body.clone(),
    };
    let expects_error = exchange.expect.error.is_some();
    let (mut outcomes, produced) = if !exchange.succeeded() {
        let as_success = HttpResponse {
            status: 200,
            ..response.clone()
        };
        let refused = P::parse_response(as_success).is_err();
        let error = P::parse_error(response);
        let outcomes = checks::error(Some(exchange.status), refused, kind(&error));
        (outcomes, produced_error(&error))
    } else if exchange.stream && P::describe().capabilities.streaming {
        let events = exchange.events();
        let data_only = events.iter().all(|event| event.event.is_none());
        let (decoded, fed) = decode::<P::Decoder>(endpoint, &events, data_only);
        let cut = &fed[..fed.len().saturating_sub(1)];
        let (cut_decoded, _) = decode::<P::Decoder>(endpoint, cut, false);
        let outcomes = checks::stream(&decoded, expects_error, cut_decoded.done);
        let produced = match &decoded.error {
            Some((kind, _)) => Produced::Error {
                kind: kind.clone(),
                retry_after_ms: None,
            },
            None => Produced::Answer {
                usage: decoded.usage,
                finish: decoded.finishes.last().cloned(),
            },
        };
        (outcomes, produced)
    } else {
        match P::parse_response(response) {
            Ok(parsed) => {
                let body = ParsedBody {
                    body: parsed.body,
                    usage: parsed.usage.as_ref().map(counts),
                    finish: parsed.finish.as_ref().map(finish),
                };
                let produced = Produced::Answer {
                    usage: body.usage,
                    finish: body.finish.clone(),
                };
                (checks::completion(&body), produced)
            }
            Err(error) => {
                let failure =
                    (!expects_error).then(|| format!("{}: {}", kind(&error), message(&error)));
                let outcomes = vec![Outcome {
                    check: "parse-response",
                    failure,
                }];
                (outcomes, produced_error(&error))
            }
        }
    };
    outcomes.extend(checks::expected(&exchange.expect, &produced));
    outcomes
}

fn produced_error(error: &PluginError) -> Produced {
    Produced::Error {
        kind: kind(error).to_owned(),
        retry_after_ms: match error {
            PluginError::RateLimited(limit) => limit.retry_after_ms,
            _ => None,
        },
    }
}

/// Feeds `events` to a fresh decoder, then `[DONE]` when `data_only` and not done yet; returns
/// what it made of them and the events fed.
fn decode<D: StreamDecoder>(
    endpoint: &EndpointSettings,
    events: &[Event],
    data_only: bool,
) -> (DecodedStream, Vec<Event>) {
    let mut decoder = D::new(endpoint.clone());
    let mut decoded = DecodedStream::default();
    let mut fed = Vec::new();
    let done_event = Event {
        event: None,
        data: DONE.to_owned(),
    };
    let mut queue = events.to_vec();
    let mut index = 0;
    while index < queue.len() {
        let event = queue[index].clone();
        index += 1;
        fed.push(event.clone());
        match decoder.decode(SseEvent::from(event)) {
            Ok(output) => {
                let produced = !output.chunks.is_empty() || output.finish.is_some();
                decoded.output_after_done |= decoded.done && produced;
                decoded.chunks.extend(output.chunks);
                decoded.usage = output.usage.as_ref().map(counts).or(decoded.usage);
                decoded.finishes.extend(output.finish.as_ref().map(finish));
                decoded.done |= output.done;
            }
            Err(error) => {
                decoded.error = Some((kind(&error).to_owned(), message(&error)));
                break;
            }
        }
        if index == queue.len() && data_only && !decoded.done {
            queue.push(done_event.clone());
        }
    }
    (decoded, fed)
}

fn response(status: u16, body: &[u8]) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.to_vec(),
    }
}

fn counts(usage: &Usage) -> Counts {
    [
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cached_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
    ]
}

fn finish(finish: &Finish) -> (String, String) {
    (finish.reason.as_openai().to_owned(), finish.native.clone())
}

/// The contract's name of an error variant, e.g. `rate-limited`.
pub fn kind(error: &PluginError) -> &'static str {
    match error {
        PluginError::RateLimited(_) => "rate-limited",
        PluginError::Overloaded(_) => "overloaded",
        PluginError::Auth(_) => "auth",
        PluginError::InvalidRequest(_) => "invalid-request",
        PluginError::ContextLengthExceeded(_) => "context-length-exceeded",
        PluginError::ContentFiltered(_) => "content-filtered",
        PluginError::UpstreamUnavailable(_) => "upstream-unavailable",
        PluginError::Internal(_) => "internal",
        PluginError::Unsupported(_) => "unsupported",
    }
}

fn message(error: &PluginError) -> String {
    match error {
        PluginError::RateLimited(limit) => limit.message.clone(),
        PluginError::Overloaded(m)
        | PluginError::Auth(m)
        | PluginError::InvalidRequest(m)
        | PluginError::ContextLengthExceeded(m)
        | PluginError::ContentFiltered(m)
        | PluginError::UpstreamUnavailable(m)
        | PluginError::Internal(m)
        | PluginError::Unsupported(m) => m.clone(),
    }
}
