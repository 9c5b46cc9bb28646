//! The requests a replay gate has an adapter build: for each recording, the client request it
//! answers (a chat request for the gate's model, streamed when the recording is a stream, with
//! a `max_tokens` that covers the recorded output), built by a fresh instance for the gate's
//! endpoint as real traffic is. The adapter must build it, for the endpoint's origin or one of
//! its declared hosts, and ask the upstream for no more output than the client allowed: an
//! adapter that raises the limit would have the upstream bill past the gateway's hold.

use std::sync::Arc;

use reqwest::Url;
use serde_json::{Value, json};
use switchyard_sdk::conformance::checks::Outcome;
use switchyard_sdk::conformance::recording::{Answer, Recording};

use super::usage;
use crate::ProviderPlugin;
use switchyard_domain::plugin_fault::PluginFault;
use switchyard_domain::plugin_types::EndpointSettings;

/// The least `max_tokens` a gate's client request allows.
const MIN_CLIENT_LIMIT: u64 = 1024;

/// Names of an output token limit in the wire formats of the adapters.
const LIMIT_KEYS: [&str; 6] = [
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "maxOutputTokens",
    "maxTokens",
    "max_new_tokens",
];

/// Nesting followed at most.
const MAX_DEPTH: usize = 16;

/// Has a fresh instance of `plugin` build the client request `recording` answers, for model
/// `model` at `endpoint`, and checks the built request.
pub async fn check(
    plugin: &Arc<ProviderPlugin>,
    recording: &Recording,
    endpoint: &EndpointSettings,
    model: &str,
) -> Result<Vec<Outcome>, PluginFault> {
    let (stream, billed_output) = match &recording.answer {
        Answer::Body { body, .. } => (false, usage::recorded(std::iter::once(body.as_slice())).1),
        Answer::Stream { events, .. } => (
            true,
            usage::recorded(events.iter().map(|event| event.data.as_bytes())).1,
        ),
        Answer::Exchange(exchange) => (
            exchange.stream,
            usage::recorded(std::iter::once(exchange.body.as_slice())).1,
        ),
    };
    let limit = billed_output.unwrap_or(0).max(MIN_CLIENT_LIMIT);
    let request = json!({
        "model": model,
        "messages": [{ "role": "user", "content": "Hello!" }],
        "max_tokens": limit,
        "stream": stream,
    });
    let body = serde_json::to_vec(&request).unwrap_or_default();
    let streams = stream && plugin.descriptor().streaming;
    let mut instance = plugin.instantiate().await?;
    let built = match instance.build_request(&body, endpoint, streams).await? {
        Ok(built) => built,
        Err(error) => {
            return Ok(vec![Outcome {
                check: "build-request",
                failure: Some(format!("{}: {}", super::kind(&error), error.message())),
            }]);
        }
    };
    let destination = destination(plugin, endpoint, &built.url);
    let asked = asked_output(&built.body);
    Ok(vec![
        Outcome {
            check: "build-request",
            failure: None,
        },
        Outcome {
            check: "request goes to the endpoint",
            failure: destination,
        },
        Outcome {
            check: "request asks for no more output than the client",
            failure: asked
                .filter(|asked| *asked > limit)
                .map(|asked| format!("asked for {asked} output tokens, the client {limit}")),
        },
    ])
}

/// Why `url` is not a destination of `endpoint`, if it is not: the base URL's origin or a host
/// the adapter declares.
fn destination(plugin: &ProviderPlugin, endpoint: &EndpointSettings, url: &str) -> Option<String> {
    let Ok(url) = Url::parse(url) else {
        return Some(format!("{url:?} is not a URL"));
    };
    let base = Url::parse(&endpoint.base_url).ok();
    let at_base = base.is_some_and(|base| base.origin() == url.origin());
    let host = url.host_str().unwrap_or_default();
    let declared = (plugin.descriptor().allowed_hosts.iter()).any(|allowed| allowed == host);
    (!at_base && !declared).then(|| format!("{host} is neither the endpoint's nor a declared host"))
}

/// The largest output token limit anywhere in a built JSON body, if any.
fn asked_output(body: &[u8]) -> Option<u64> {
    let value = serde_json::from_slice::<Value>(body).ok()?;
    let mut largest = None;
    walk(&value, &mut largest, 0);
    largest
}

fn walk(value: &Value, largest: &mut Option<u64>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                if let (true, Some(count)) = (LIMIT_KEYS.contains(&key.as_str()), member.as_u64()) {
                    *largest = Some(largest.map_or(count, |seen: u64| seen.max(count)));
                }
                walk(member, largest, depth + 1);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, largest, depth + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_output_limit_is_found_in_any_wire_format() {
        let openai = json!({ "model": "m", "max_tokens": 100, "max_completion_tokens": 300 });
        assert_eq!(asked_output(openai.to_string().as_bytes()), Some(300));
        let gemini = json!({ "generationConfig": { "maxOutputTokens": 64 } });
        assert_eq!(asked_output(gemini.to_string().as_bytes()), Some(64));
        let bedrock = json!({ "inferenceConfig": { "maxTokens": 2048 } });
        assert_eq!(asked_output(bedrock.to_string().as_bytes()), Some(2048));
        assert_eq!(asked_output(b"{\"model\":\"m\"}"), None);
        assert_eq!(asked_output(b"not json"), None);
    }
}
