//! Scrape-time figures of the response cache, read from its own counters
//! ([`crate::cache::stats`]): lookups by outcome and the hit ratio, Redis failures, entries
//! stored, evicted and refused for size, the bytes stored, and hits and USD saved per model
//! (and account, when key labels are on).

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;
use rust_decimal::prelude::ToPrimitive;

use crate::Gateway;

/// Registers the cache figures of `gateway`; `key_labels` adds the account to the savings.
pub(super) fn observe(meter: &Meter, gateway: &Arc<Gateway>, key_labels: bool) {
    let cache = gateway.cache.clone();
    meter
        .u64_observable_counter("switchyard.cache.lookups")
        .with_description("Response cache lookups, by outcome: hit, miss, bypass")
        .with_callback(move |observer| {
            let stats = cache.stats().snapshot();
            for (outcome, count) in [
                ("hit", stats.hits),
                ("miss", stats.misses),
                ("bypass", stats.bypasses),
            ] {
                observer.observe(count, &[KeyValue::new("switchyard.outcome", outcome)]);
            }
        })
        .build();
    let cache = gateway.cache.clone();
    meter
        .f64_observable_gauge("switchyard.cache.hit_ratio")
        .with_description("Response cache hits among lookups since start")
        .with_callback(move |observer| observer.observe(cache.stats().snapshot().hit_ratio(), &[]))
        .build();
    let counters: [Counter; 5] = [
        (
            "switchyard.cache.errors",
            "Response cache store failures (Redis unreachable or slow): the cache was bypassed",
            |s| s.errors,
        ),
        (
            "switchyard.cache.stored",
            "Response cache entries stored",
            |s| s.stored,
        ),
        (
            "switchyard.cache.evictions",
            "Response cache entries evicted for room",
            |s| s.evictions,
        ),
        (
            "switchyard.cache.oversize",
            "Answers not stored in the response cache for their size",
            |s| s.oversize,
        ),
        (
            "switchyard.cache.stored_bytes",
            "Bytes of the response cache entries stored",
            |s| s.stored_bytes,
        ),
    ];
    for (name, description, read) in counters {
        let cache = gateway.cache.clone();
        meter
            .u64_observable_counter(name)
            .with_description(description)
            .with_callback(move |observer| observer.observe(read(&cache.stats().snapshot()), &[]))
            .build();
    }
    let cache = gateway.cache.clone();
    meter
        .u64_observable_gauge("switchyard.cache.bytes")
        .with_description("Bytes held by the in-process response cache")
        .with_callback(move |observer| {
            if let Some((bytes, _)) = cache.size() {
                observer.observe(bytes as u64, &[]);
            }
        })
        .build();
    let cache = gateway.cache.clone();
    meter
        .f64_observable_counter("switchyard.cache.saved_usd")
        .with_description("USD response cache hits saved (the stored price less the hit's)")
        .with_callback(move |observer| {
            for (labels, (_, usd)) in savings(&cache, key_labels) {
                observer.observe(usd, &labels);
            }
        })
        .build();
    let cache = gateway.cache.clone();
    meter
        .u64_observable_counter("switchyard.cache.hits")
        .with_description("Response cache hits by model")
        .with_callback(move |observer| {
            for (labels, (hits, _)) in savings(&cache, key_labels) {
                observer.observe(hits, &labels);
            }
        })
        .build();
}

/// A counter read from the cache's snapshot: its name, description and field.
type Counter = (
    &'static str,
    &'static str,
    fn(&crate::cache::stats::Snapshot) -> u64,
);

/// Hits and USD saved by their labels: the model, and the account when `key_labels`.
fn savings(cache: &crate::cache::Cache, key_labels: bool) -> Vec<(Vec<KeyValue>, (u64, f64))> {
    let mut by_labels: HashMap<(String, Option<String>), (u64, f64)> = HashMap::new();
    for ((model, account), saved) in cache.stats().saved() {
        let account = key_labels.then_some(account);
        let entry = by_labels.entry((model, account)).or_default();
        entry.0 += saved.hits;
        entry.1 += saved.usd.to_f64().unwrap_or_default();
    }
    by_labels
        .into_iter()
        .map(|((model, account), figures)| {
            let mut labels = vec![KeyValue::new("gen_ai.response.model", model)];
            if let Some(account) = account {
                labels.push(KeyValue::new("switchyard.account.id", account));
            }
            (labels, figures)
        })
        .collect()
}
