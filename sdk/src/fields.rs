//! No request field silently dropped: an adapter serves (or maps) the canonical request fields
//! it declares in its `supported_parameters`, and [`refuse_unserved`] refuses, by name, any
//! other field a request sets. The fields every adapter leaves to the gateway, or that change
//! nothing in the answer, are [`GATEWAY_FIELDS`].

use crate::openai::ANTHROPIC_EXTENSION;
use crate::provider::{ChatRequest, PluginError};
use crate::responses::RESPONSES_EXTENSION;

/// Fields no adapter translates: the gateway serves them (routing, plugins, the stream's usage
/// chunk, the reasoning it strips), they are Switchyard's canonical extensions, or they are
/// client bookkeeping that changes nothing in the answer (`user`, `metadata`, `store`,
/// `service_tier`, `prompt_cache_key`, `safety_identifier`).
pub const GATEWAY_FIELDS: &[&str] = &[
    "models",
    "provider",
    "plugins",
    "transforms",
    "session_id",
    "route",
    "stream_options",
    "usage",
    "user",
    "metadata",
    "store",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    ANTHROPIC_EXTENSION,
    RESPONSES_EXTENSION,
];

/// Refuses the first field `request` sets (not null) that neither the adapter `adapter` serves
/// (`served`: its supported parameters) nor the gateway does ([`GATEWAY_FIELDS`]). The typed
/// fields of [`ChatRequest`] (`model`, `messages`, `stream`, output limits, sampling, stops,
/// tools) are the adapter's own business. The refusal is [`PluginError::Unsupported`]: the
/// gateway fails over to an endpoint whose adapter serves the field, and answers a 400 naming
/// it when none does.
pub fn refuse_unserved(
    request: &ChatRequest,
    adapter: &str,
    served: &[&str],
) -> Result<(), PluginError> {
    let unserved = request.extra.iter().find(|(field, value)| {
        !value.is_null()
            && !served.contains(&field.as_str())
            && !GATEWAY_FIELDS.contains(&field.as_str())
    });
    match unserved {
        Some((field, _)) => Err(PluginError::Unsupported(format!(
            "`{field}` is not supported by the {adapter} adapter (Switchyard refuses a field \
             rather than drop it); remove it or route to a provider that serves it"
        ))),
        None => Ok(()),
    }
}

/// Whether a request sets `field` (not null).
pub fn sets(request: &ChatRequest, field: &str) -> bool {
    request
        .extra
        .get(field)
        .is_some_and(|value| !value.is_null())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_unserved_fields_are_refused_by_name() {
        let request: ChatRequest = serde_json::from_value(json!({"model": "m", "messages": [],
            "seed": 1, "user": "u", "logprobs": null, "provider": {}}))
        .expect("request");
        assert!(refuse_unserved(&request, "x", &["seed"]).is_ok());
        let Err(PluginError::Unsupported(message)) = refuse_unserved(&request, "x", &[]) else {
            panic!("refused");
        };
        assert!(message.contains("`seed`"), "{message}");
        assert!(sets(&request, "seed") && !sets(&request, "logprobs"));
    }
}
