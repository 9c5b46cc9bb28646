//! The conformance kit in the gateway: recorded upstream answers replayed through a compiled
//! adapter in its sandbox, with the calls the gateway makes (`parse-response`, `parse-error`, a
//! stream decoder fed one event at a time, a fresh instance per answer), and the SDK's checks
//! ([`switchyard_sdk::conformance::checks`]) applied to what it returns. Used by
//! `switchyard plugin test` and by replay gates.

mod build;
pub mod cases;
mod usage;

use std::path::PathBuf;
use std::sync::Arc;

use switchyard_sdk::conformance::checks::{
    self, Counts, DecodedStream, FixtureReport, Outcome, ParsedBody, Produced, Report,
};
use switchyard_sdk::conformance::recording::{self, Answer, DONE, Exchange};
use switchyard_sdk::sse::Event;

use crate::{ProviderInstance, ProviderPlugin};
use switchyard_domain::plugin_fault::PluginFault;
use switchyard_domain::plugin_types::{EndpointSettings, Finish, ProviderError, Usage};

/// Why a conformance run could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// A fixtures folder cannot be read.
    #[error("cannot read the fixtures in {path}: {source}")]
    Fixtures {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The endpoint recordings are replayed for: a placeholder upstream, no options.
pub fn default_endpoint() -> EndpointSettings {
    EndpointSettings {
        base_url: "https://conformance.invalid/v1".to_owned(),
        upstream_model: "conformance-model".to_owned(),
        options: Vec::new(),
    }
}

/// Replays every recording of `folders` through `plugin` for `endpoint` and checks its answers.
pub async fn run(
    plugin: &Arc<ProviderPlugin>,
    folders: &[PathBuf],
    endpoint: &EndpointSettings,
) -> Result<Report, ConformanceError> {
    let mut report = Report::default();
    for folder in folders {
        let recordings =
            recording::read_dir(folder).map_err(|source| ConformanceError::Fixtures {
                path: folder.clone(),
                source,
            })?;
        for recording in recordings {
            let outcomes = replay(plugin, &recording.answer, endpoint)
                .await
                .unwrap_or_else(|fault| {
                    vec![Outcome {
                        check: "no plugin fault",
                        failure: Some(fault.reason),
                    }]
                });
            report.fixtures.push(FixtureReport {
                fixture: recording.name,
                outcomes,
            });
        }
    }
    Ok(report)
}

/// Has `plugin` build, for model `model` at `endpoint`, the client request each recording of
/// `folders` answers, and checks what it built ([`build`]); one `<recording> (request)` entry
/// per recording.
pub async fn build_requests(
    plugin: &Arc<ProviderPlugin>,
    folders: &[PathBuf],
    endpoint: &EndpointSettings,
    model: &str,
) -> Result<Report, ConformanceError> {
    let mut report = Report::default();
    for folder in folders {
        let recordings =
            recording::read_dir(folder).map_err(|source| ConformanceError::Fixtures {
                path: folder.clone(),
                source,
            })?;
        for recording in recordings {
            let outcomes = build::check(plugin, &recording, endpoint, model)
                .await
                .unwrap_or_else(|fault| {
                    vec![Outcome {
                        check: "no plugin fault",
                        failure: Some(fault.reason),
                    }]
                });
            report.fixtures.push(FixtureReport {
                fixture: format!("{} (request)", recording.name),
                outcomes,
            });
        }
    }
    Ok(report)
}

async fn replay(
    plugin: &Arc<ProviderPlugin>,
    answer: &Answer,
    endpoint: &EndpointSettings,
) -> Result<Vec<Outcome>, PluginFault> {
    let json = || vec![("content-type".to_owned(), "application/json".to_owned())];
    match answer {
        Answer::Body {
            body,
            error_status: None,
        } => {
            let mut instance = plugin.instantiate().await?;
            Ok(
                match instance.parse_response(200, json(), body.clone()).await? {
                    Ok(parsed) => {
                        let reported = parsed.usage.as_ref().map(counts);
                        let mut outcomes = checks::completion(&ParsedBody {
                            // The host's boundary already parsed it; the kit checks the bytes a
                            // client would receive.
                            body: serde_json::to_vec(&parsed.body).unwrap_or_default(),
                            usage: reported,
                            finish: parsed.finish.as_ref().map(finish),
                        });
                        let billed = usage::recorded(std::iter::once(body.as_slice()));
                        outcomes.push(usage::check(billed, reported.as_ref()));
                        outcomes
                    }
                    Err(error) => vec![Outcome {
                        check: "parse-response",
                        failure: Some(format!("{}: {}", kind(&error), error.message())),
                    }],
                },
            )
        }
        Answer::Body {
            body,
            error_status: Some(status),
        } => {
            let mut instance = plugin.instantiate().await?;
            let refused = instance
                .parse_response(200, json(), body.clone())
                .await?
                .is_err();
            let mut instance = plugin.instantiate().await?;
            let error = instance
                .parse_error(status.unwrap_or(400), json(), body.clone())
                .await?;
            Ok(checks::error(*status, refused, kind(&error)))
        }
        Answer::Stream {
            events,
            data_only,
            reports_error,
        } => {
            let (decoded, fed) = decode(plugin, endpoint, events, *data_only).await?;
            let cut = &fed[..fed.len().saturating_sub(1)];
            let (cut_decoded, _) = decode(plugin, endpoint, cut, false).await?;
            let mut outcomes = checks::stream(&decoded, *reports_error, cut_decoded.done);
            if !*reports_error {
                let billed = usage::recorded(events.iter().map(|event| event.data.as_bytes()));
                outcomes.push(usage::check(billed, decoded.usage.as_ref()));
            }
            Ok(outcomes)
        }
        Answer::Exchange(exchange) => replay_exchange(plugin, exchange, endpoint).await,
    }
}

/// Replays an exchange as the gateway does: an unsuccessful status through `parse-error`, a
/// stream through the decoder when the adapter streams, anything else through `parse-response`
/// (an adapter that cannot stream is asked for a whole answer); then checks the expectation.
async fn replay_exchange(
    plugin: &Arc<ProviderPlugin>,
    exchange: &Exchange,
    endpoint: &EndpointSettings,
) -> Result<Vec<Outcome>, PluginFault> {
    let (status, headers, body) = (exchange.status, &exchange.headers, &exchange.body);
    let expects_error = exchange.expect.error.is_some();
    let (mut outcomes, produced) = if !exchange.succeeded() {
        let mut instance = plugin.instantiate().await?;
        let as_success = instance.parse_response(200, headers.clone(), body.clone());
        let refused = as_success.await?.is_err();
        let mut instance = plugin.instantiate().await?;
        let error = instance
            .parse_error(status, headers.clone(), body.clone())
            .await?;
        let outcomes = checks::error(Some(status), refused, kind(&error));
        (outcomes, produced_error(&error))
    } else if exchange.stream && plugin.descriptor().streaming {
        let events = exchange.events();
        let data_only = events.iter().all(|event| event.event.is_none());
        let (decoded, fed) = decode(plugin, endpoint, &events, data_only).await?;
        let cut = &fed[..fed.len().saturating_sub(1)];
        let (cut_decoded, _) = decode(plugin, endpoint, cut, false).await?;
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
        let mut instance = plugin.instantiate().await?;
        match instance
            .parse_response(status, headers.clone(), body.clone())
            .await?
        {
            Ok(parsed) => {
                let body = ParsedBody {
                    body: serde_json::to_vec(&parsed.body).unwrap_or_default(),
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
                    (!expects_error).then(|| format!("{}: {}", kind(&error), error.message()));
                let outcomes = vec![Outcome {
                    check: "parse-response",
                    failure,
                }];
                (outcomes, produced_error(&error))
            }
        }
    };
    outcomes.extend(checks::expected(&exchange.expect, &produced));
    Ok(outcomes)
}

fn produced_error(error: &ProviderError) -> Produced {
    Produced::Error {
        kind: kind(error).to_owned(),
        retry_after_ms: match error {
            ProviderError::RateLimited { retry_after_ms, .. } => *retry_after_ms,
            _ => None,
        },
    }
}

/// Feeds `events` to a fresh instance's decoder, then `[DONE]` when `data_only` and not done
/// yet; returns what it made of them and the events fed.
async fn decode(
    plugin: &Arc<ProviderPlugin>,
    endpoint: &EndpointSettings,
    events: &[Event],
    data_only: bool,
) -> Result<(DecodedStream, Vec<Event>), PluginFault> {
    let mut instance: ProviderInstance = plugin.instantiate().await?;
    instance.start_stream(endpoint).await?;
    let mut decoded = DecodedStream::default();
    let mut queue = events.to_vec();
    let mut fed = Vec::new();
    let mut index = 0;
    while let Some(event) = queue.get(index).cloned() {
        index += 1;
        fed.push(event.clone());
        match instance.decode(event).await? {
            Ok(output) => {
                let produced = !output.chunks.is_empty() || output.finish.is_some();
                decoded.output_after_done |= decoded.done && produced;
                decoded.chunks.extend(
                    (output.chunks.iter())
                        .map(|chunk| serde_json::to_vec(chunk).unwrap_or_default()),
                );
                decoded.usage = output.usage.as_ref().map(counts).or(decoded.usage);
                decoded.finishes.extend(output.finish.as_ref().map(finish));
                decoded.done |= output.done;
            }
            Err(error) => {
                decoded.error = Some((kind(&error).to_owned(), error.message().to_owned()));
                break;
            }
        }
        if index == queue.len() && data_only && !decoded.done {
            queue.push(Event {
                event: None,
                data: DONE.to_owned(),
            });
        }
    }
    Ok((decoded, fed))
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
    (finish.reason.as_str().to_owned(), finish.native.clone())
}

/// The contract's name of an error variant, e.g. `rate-limited`.
fn kind(error: &ProviderError) -> &'static str {
    match error {
        ProviderError::RateLimited { .. } => "rate-limited",
        ProviderError::Overloaded(_) => "overloaded",
        ProviderError::Auth(_) => "auth",
        ProviderError::InvalidRequest(_) => "invalid-request",
        ProviderError::ContextLengthExceeded(_) => "context-length-exceeded",
        ProviderError::ContentFiltered(_) => "content-filtered",
        ProviderError::UpstreamUnavailable(_) => "upstream-unavailable",
        ProviderError::Internal(_) => "internal",
        ProviderError::Unsupported(_) => "unsupported",
    }
}
