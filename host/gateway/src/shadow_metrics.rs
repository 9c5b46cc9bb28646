//! Scrape-time figures of the shadow routing policies: evaluations by outcome, and the expected
//! cost and latency of the live and shadow first choices. Labels are the shadow policy's name
//! (from the configuration) and the model id (from the catalog).

use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;
use rust_decimal::prelude::ToPrimitive;

use crate::Gateway;
use switchyard_routing::shadow::{ShadowReport, SideReport};

/// Registers the shadow figures of `gateway`.
pub(super) fn observe(meter: &Meter, gateway: &Arc<Gateway>) {
    let shadows = gateway.clone();
    meter
        .u64_observable_counter("switchyard.routing.shadow.evaluations")
        .with_description(
            "Shadow policy evaluations, by outcome: agree, disagree (first choice differs from \
             the live policy's), fault, skipped (queue full)",
        )
        .with_callback(move |observer| {
            for report in shadows.shadow.report() {
                let agreed = report.evaluated.saturating_sub(report.disagreed);
                let outcomes = [
                    ("agree", agreed),
                    ("disagree", report.disagreed),
                    ("fault", report.faults),
                    ("skipped", report.skipped),
                ];
                for (outcome, count) in outcomes {
                    let labels = labels(&report, "switchyard.outcome", outcome);
                    observer.observe(count, &labels);
                }
            }
        })
        .build();
    let shadows = gateway.clone();
    meter
        .f64_observable_counter("switchyard.routing.shadow.expected_cost.usd")
        .with_description(
            "Expected upstream cost of the requests on the live and on the shadow policy's \
             first choices, USD",
        )
        .with_callback(move |observer| {
            for report in shadows.shadow.report() {
                for (choice, side) in sides(&report) {
                    let cost = side.total_expected_cost_usd.to_f64().unwrap_or_default();
                    observer.observe(cost, &labels(&report, "switchyard.routing.choice", choice));
                }
            }
        })
        .build();
    let shadows = gateway.clone();
    meter
        .f64_observable_gauge("switchyard.routing.shadow.expected_latency")
        .with_description(
            "Mean median time to first token of the live and of the shadow policy's measured \
             first choices",
        )
        .with_unit("s")
        .with_callback(move |observer| {
            for report in shadows.shadow.report() {
                for (choice, side) in sides(&report) {
                    if let Some(ms) = side.mean_p50_latency_ms {
                        let labels = labels(&report, "switchyard.routing.choice", choice);
                        observer.observe(ms / 1000.0, &labels);
                    }
                }
            }
        })
        .build();
}

fn sides(report: &ShadowReport) -> [(&'static str, &SideReport); 2] {
    [("live", &report.live), ("shadow", &report.shadow)]
}

fn labels(report: &ShadowReport, key: &'static str, value: &'static str) -> [KeyValue; 3] {
    [
        KeyValue::new("switchyard.plugin.name", report.policy.clone()),
        KeyValue::new("gen_ai.request.model", report.model.clone()),
        KeyValue::new(key, value),
    ]
}
