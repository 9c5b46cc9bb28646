//! The low-level recordings of the request path: each upstream attempt's outcome, failovers,
//! client timeouts and plugin calls. A served generation is recorded by
//! [`switchyard_gateway::observer`].

use std::time::Duration;

use opentelemetry::KeyValue;

use super::get;
use super::labels::{EndpointLabels, PluginLabels};

/// Records an upstream attempt at the endpoint labelled `endpoint`: `outcome` is `success` or
/// the failure's kind.
pub fn attempt(endpoint: &EndpointLabels, outcome: &'static str) {
    if let Some(metrics) = get() {
        let attributes = [
            endpoint.request_model.clone(),
            endpoint.provider.clone(),
            KeyValue::new("switchyard.outcome", outcome),
        ];
        metrics.instruments.attempts.add(1, &attributes);
    }
}

/// Records that a failed attempt (`outcome`: the failure's kind) is followed by another.
pub fn failover(outcome: &'static str) {
    if let Some(metrics) = get() {
        let attributes = [KeyValue::new("switchyard.outcome", outcome)];
        metrics.instruments.failovers.add(1, &attributes);
    }
}

/// Records a timeout at the endpoint labelled `endpoint` that counts against the request, not
/// the endpoint: the endpoint served other requests meanwhile.
pub fn client_timeout(endpoint: &EndpointLabels) {
    if let Some(metrics) = get() {
        let attributes = [endpoint.provider.clone()];
        metrics.instruments.client_timeouts.add(1, &attributes);
    }
}

/// Records a call into `function` of the plugin version labelled `plugin` that took `elapsed`;
/// `ok` is false when it faulted.
pub fn plugin_call(plugin: &PluginLabels, function: &'static str, elapsed: Duration, ok: bool) {
    if let Some(metrics) = get() {
        let attributes = [
            plugin.name_label.clone(),
            plugin.version_label.clone(),
            KeyValue::new("switchyard.plugin.function", function),
            KeyValue::new("switchyard.outcome", if ok { "success" } else { "fault" }),
        ];
        let seconds = elapsed.as_secs_f64();
        metrics
            .instruments
            .plugin_call_duration
            .record(seconds, &attributes);
    }
}
