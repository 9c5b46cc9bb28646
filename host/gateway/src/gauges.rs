//! Figures read when Prometheus scrapes, from the gateway's own counters: each endpoint's
//! circuit breaker and requests in flight, each serving plugin version's calls, faults, circuit
//! breaker and canary share, and the shadow routing policies' figures.

use std::sync::Arc;

use opentelemetry::KeyValue;

use crate::Gateway;
use switchyard_health::stats::BreakerState;
use switchyard_plugin_runtime::loaded::Plugin;
use switchyard_telemetry::metrics::get;

/// Registers the scrape-time figures of `gateway`; does nothing before [`switchyard_telemetry::metrics::install`].
pub fn observe(gateway: &Arc<Gateway>) {
    let Some(metrics) = get() else {
        return;
    };
    let meter = metrics.meter();
    let endpoints = gateway.clone();
    meter
        .i64_observable_gauge("switchyard.endpoint.circuit_state")
        .with_description("Endpoint circuit breaker: 0 closed, 1 half-open, 2 open")
        .with_callback(move |observer| {
            for (labels, stats) in endpoint_labels(&endpoints) {
                observer.observe(breaker_value(stats.breaker_state()), &labels);
            }
        })
        .build();
    let endpoints = gateway.clone();
    meter
        .u64_observable_gauge("switchyard.endpoint.in_flight")
        .with_description("Upstream attempts in flight per endpoint")
        .with_callback(move |observer| {
            for (labels, stats) in endpoint_labels(&endpoints) {
                observer.observe(u64::from(stats.in_flight()), &labels);
            }
        })
        .build();
    let plugins = gateway.clone();
    meter
        .u64_observable_counter("switchyard.plugin.calls")
        .with_description("Calls into each serving plugin version")
        .with_callback(move |observer| {
            for (plugin, _) in plugins.plugins.serving_versions() {
                observer.observe(plugin.state().calls_and_faults().0, &plugin_labels(&plugin));
            }
        })
        .build();
    let plugins = gateway.clone();
    meter
        .u64_observable_counter("switchyard.plugin.faults")
        .with_description("Traps, deadline overruns, memory exhaustion and contract breaches")
        .with_callback(move |observer| {
            for (plugin, _) in plugins.plugins.serving_versions() {
                observer.observe(plugin.state().calls_and_faults().1, &plugin_labels(&plugin));
            }
        })
        .build();
    let plugins = gateway.clone();
    meter
        .i64_observable_gauge("switchyard.plugin.circuit_state")
        .with_description("Plugin version circuit breaker: 0 closed, 1 half-open, 2 open")
        .with_callback(move |observer| {
            for (plugin, _) in plugins.plugins.serving_versions() {
                let value = match plugin.state().health() {
                    "open" => 2,
                    "half-open" => 1,
                    _ => 0,
                };
                observer.observe(value, &plugin_labels(&plugin));
            }
        })
        .build();
    let plugins = gateway.clone();
    meter
        .u64_observable_counter("switchyard.plugin.judged_requests")
        .with_description(
            "Requests judged for canary decisions (canary progress), by outcome: success or failure",
        )
        .with_callback(move |observer| {
            for (plugin, _) in plugins.plugins.serving_versions() {
                let (judged, failed) = plugin.state().judged_and_failed();
                let mut labels = plugin_labels(&plugin).to_vec();
                labels.push(KeyValue::new("switchyard.outcome", "failure"));
                observer.observe(failed, &labels);
                labels.pop();
                labels.push(KeyValue::new("switchyard.outcome", "success"));
                observer.observe(judged.saturating_sub(failed), &labels);
            }
        })
        .build();
    let plugins = gateway.clone();
    meter
        .f64_observable_gauge("switchyard.plugin.canary.share")
        .with_description("Share of its plugin's traffic a canary version takes")
        .with_callback(move |observer| {
            for (plugin, share) in plugins.plugins.serving_versions() {
                if let Some(share) = share {
                    observer.observe(share, &plugin_labels(&plugin));
                }
            }
        })
        .build();
    crate::shadow_metrics::observe(meter, gateway);
    crate::cache_metrics::observe(meter, gateway, metrics.key_labels());
    crate::transforms::metrics::observe(meter);
}

fn breaker_value(state: BreakerState) -> i64 {
    match state {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    }
}

/// Every usable endpoint's labels and statistics.
fn endpoint_labels(
    gateway: &Gateway,
) -> impl Iterator<Item = ([KeyValue; 2], &switchyard_health::stats::EndpointStats)> {
    gateway.catalog.models().flat_map(|model| {
        model.endpoints.iter().map(|endpoint| {
            let labels = [
                KeyValue::new("gen_ai.request.model", model.id.clone()),
                KeyValue::new("gen_ai.provider.name", endpoint.provider.name.clone()),
            ];
            (labels, &endpoint.stats)
        })
    })
}

fn plugin_labels(plugin: &Plugin) -> [KeyValue; 3] {
    let digest = &plugin.state().digest;
    [
        KeyValue::new("switchyard.plugin.name", plugin.name().to_owned()),
        KeyValue::new("switchyard.plugin.version", plugin.version().to_owned()),
        KeyValue::new(
            "switchyard.plugin.digest",
            digest.get(..12).unwrap_or(digest).to_owned(),
        ),
    ]
}
