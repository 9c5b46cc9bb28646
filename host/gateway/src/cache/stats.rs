//! The cache's own counters, read by the metrics when Prometheus scrapes and by the dashboard:
//! lookups by outcome, Redis failures, entries stored, evicted and refused for size, and what
//! hits saved per model and account.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use rust_decimal::Decimal;

/// The counters.
#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    bypasses: AtomicU64,
    errors: AtomicU64,
    stored: AtomicU64,
    evictions: AtomicU64,
    oversize: AtomicU64,
    stored_bytes: AtomicU64,
    saved: Mutex<HashMap<(String, String), Saved>>,
}

/// What hits of one model and account saved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Saved {
    /// Hits.
    pub hits: u64,
    /// USD not spent upstream.
    pub usd: Decimal,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that found nothing.
    pub misses: u64,
    /// Requests that did not use the cache.
    pub bypasses: u64,
    /// Store failures (Redis unreachable or slow): the cache was bypassed.
    pub errors: u64,
    /// Entries stored.
    pub stored: u64,
    /// Entries evicted for room.
    pub evictions: u64,
    /// Answers not stored for their size.
    pub oversize: u64,
    /// Bytes of the entries stored.
    pub stored_bytes: u64,
}

impl Snapshot {
    /// Hits among lookups (hits and misses), 0 before any.
    pub fn hit_ratio(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        }
    }
}

fn add(counter: &AtomicU64, count: u64) {
    counter.fetch_add(count, Ordering::Relaxed);
}

impl CacheStats {
    /// A hit of `model` for `account` that saved `usd`.
    pub fn hit(&self, model: &str, account: &str, usd: Decimal) {
        add(&self.hits, 1);
        let mut saved = self.saved.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = saved
            .entry((model.to_owned(), account.to_owned()))
            .or_default();
        entry.hits += 1;
        entry.usd += usd;
    }

    /// A lookup that found nothing.
    pub fn miss(&self) {
        add(&self.misses, 1);
    }

    /// A request that did not use the cache.
    pub fn bypass(&self) {
        add(&self.bypasses, 1);
    }

    /// A store failure.
    pub fn error(&self) {
        add(&self.errors, 1);
    }

    /// An entry of `bytes` stored, `evicted` others making room.
    pub fn stored(&self, bytes: usize, evicted: u64) {
        add(&self.stored, 1);
        add(&self.stored_bytes, bytes as u64);
        add(&self.evictions, evicted);
    }

    /// An answer not stored for its size.
    pub fn oversize(&self) {
        add(&self.oversize, 1);
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Snapshot {
            hits: read(&self.hits),
            misses: read(&self.misses),
            bypasses: read(&self.bypasses),
            errors: read(&self.errors),
            stored: read(&self.stored),
            evictions: read(&self.evictions),
            oversize: read(&self.oversize),
            stored_bytes: read(&self.stored_bytes),
        }
    }

    /// What hits saved, by model and account.
    pub fn saved(&self) -> Vec<((String, String), Saved)> {
        let saved = self.saved.lock().unwrap_or_else(PoisonError::into_inner);
        saved
            .iter()
            .map(|(key, value)| (key.clone(), *value))
            .collect()
    }
}
