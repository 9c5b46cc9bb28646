//! `switchyard.transform.calls`: transform hook calls by transform, hook and outcome (`pass`,
//! `modified`, `refused`, `fault_passed`, `fault_refused`), counted here and read by the
//! metrics exporter at scrape time.

use std::collections::BTreeMap;
use std::sync::Mutex;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;

type Key = (String, &'static str, &'static str);

static COUNTS: Mutex<BTreeMap<Key, u64>> = Mutex::new(BTreeMap::new());

/// Counts one call of `hook` of `transform` that ended in `outcome`.
pub(super) fn count(transform: &str, hook: &'static str, outcome: &'static str) {
    let mut counts = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    match counts.get_mut(&(transform.to_owned(), hook, outcome)) {
        Some(count) => *count += 1,
        None => {
            counts.insert((transform.to_owned(), hook, outcome), 1);
        }
    }
}

/// The counts so far: (transform, hook, outcome, calls).
pub fn counts() -> Vec<(String, &'static str, &'static str, u64)> {
    let counts = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    (counts.iter())
        .map(|((transform, hook, outcome), calls)| (transform.clone(), *hook, *outcome, *calls))
        .collect()
}

/// Registers the counter on `meter`.
pub fn observe(meter: &Meter) {
    meter
        .u64_observable_counter("switchyard.transform.calls")
        .with_description(
            "Transform hook calls by transform, hook and outcome: pass, modified, refused, \
             fault_passed, fault_refused",
        )
        .with_callback(|observer| {
            for (transform, hook, outcome, calls) in counts() {
                let labels = [
                    KeyValue::new("switchyard.transform.name", transform),
                    KeyValue::new("switchyard.transform.hook", hook),
                    KeyValue::new("switchyard.outcome", outcome),
                ];
                observer.observe(calls, &labels);
            }
        })
        .build();
}
