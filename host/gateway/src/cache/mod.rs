//! The response cache: an answer to a request is kept, and an identical request later is
//! answered from it without an upstream call, streamed or not as it asks.
//!
//! - **The key** ([`key`]) is the SHA-256 of the canonical request (model, messages, tools,
//!   sampling parameters, response format, provider preferences: everything but `stream`,
//!   `stream_options` and `user`), the transforms that ran on it, the key's routing policy and
//!   the tenant: the account by default, the operator with accounting off, narrowed to a team
//!   or a key by `cache.scope`. No request can name another tenant's entry.
//! - **What is cached**: requests of tenants the cache is on for (`cache.enabled`, or listed
//!   accounts and keys, or a request opting in with `X-Switchyard-Cache: true`), with
//!   `temperature: 0` unless the operator or the request opts in for any temperature.
//!   `Cache-Control: no-cache` fetches a fresh answer, `no-store` leaves the cache alone
//!   ([`directives`]).
//! - **What is stored** ([`entry`]): the canonical whole answer; a stream is put back
//!   together ([`assemble`]) once it ended well, so either kind of request is served from
//!   either kind of answer. A failed, cut or oversized answer is never stored.
//! - **Where**: in process ([`memory`], least recently used out first, bounded in bytes), or
//!   in Redis ([`redis_store`]) shared by gateways. A Redis that fails bypasses the cache:
//!   the request is served, and the failure counted ([`stats`]).
//!
//! Serving a hit (governance, billing, rendering) is the request path's job: see
//! `crate`.

pub mod assemble;

pub mod directives;
pub mod entry;
pub mod key;
pub mod memory;
pub mod redis_store;
pub mod stats;

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use rust_decimal::Decimal;

pub use directives::Directives;
use entry::Entry;
use key::{CacheKey, Tenant};
use memory::MemoryStore;
use redis_store::{RedisStore, RedisStoreError};
use stats::CacheStats;
pub use switchyard_domain::config::cache::{CacheConfig, CacheScope};

/// The response header naming what the cache did.
pub const HEADER: &str = "x-switchyard-cache";

/// What the cache did for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered from the cache.
    Hit,
    /// Looked up, not found: the answer is stored.
    Miss,
    /// Not used.
    Bypass,
}

impl Outcome {
    /// The [`HEADER`] value.
    pub fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Bypass => "bypass",
        })
    }
}

/// A request as the cache sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// What its headers say.
    pub directives: Directives,
    /// Who sends it.
    pub tenant: Tenant<'a>,
    /// Whether its answer is meant to be the same every time (`temperature: 0`, embeddings).
    pub deterministic: bool,
}

/// What the lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// A stored answer, and where a fresh one would go.
    Hit(Arc<Entry>, Pending),
    /// Nothing: the answer goes to [`Pending`].
    Miss(Pending),
    /// The cache is not used for this request.
    Bypass,
}

/// Where a fresh answer is stored.
#[derive(Debug, Clone)]
pub struct Pending {
    key: CacheKey,
    ttl: Duration,
}

/// The cache.
#[derive(Debug)]
pub struct Cache {
    config: CacheConfig,
    store: Store,
    stats: CacheStats,
}

#[derive(Debug)]
enum Store {
    Memory(MemoryStore<Arc<Entry>>),
    Redis(RedisStore),
}

impl Cache {
    /// The cache `config` describes.
    pub fn new(config: &CacheConfig) -> Result<Cache, RedisStoreError> {
        let store = match &config.redis_url {
            Some(url) => Store::Redis(RedisStore::new(
                url,
                Duration::from_millis(config.redis_timeout_ms),
            )?),
            None => Store::Memory(MemoryStore::new(config.max_bytes)),
        };
        Ok(Cache {
            config: config.clone(),
            store,
            stats: CacheStats::default(),
        })
    }

    /// Who shares entries.
    pub fn scope(&self) -> CacheScope {
        self.config.scope
    }

    /// The share of a stored answer's price a hit is charged.
    pub fn hit_price_fraction(&self) -> Decimal {
        self.config.hit_price_fraction
    }

    /// The counters.
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// Whether `request` uses the cache at all.
    fn wanted(&self, request: &Request<'_>) -> bool {
        let directives = request.directives;
        let listed = request.tenant.key.is_some_and(|(key, account, _)| {
            self.config.accounts.iter().any(|id| id == account)
                || self.config.keys.iter().any(|id| id == key)
        });
        let opted_in = directives.opt_in && self.config.request_opt_in;
        let on = self.config.enabled || listed || opted_in;
        let temperature_ok = request.deterministic || self.config.any_temperature || opted_in;
        on && temperature_ok && !directives.no_store
    }

    /// Looks `request` up; `key` makes its key when it is looked up. Counts the outcome but a
    /// hit's, which counts once served ([`CacheStats::hit`]).
    pub async fn lookup(&self, request: Request<'_>, key: impl FnOnce() -> CacheKey) -> Lookup {
        if !self.wanted(&request) {
            self.stats.bypass();
            return Lookup::Bypass;
        }
        let ttl_secs = (request.directives.ttl_secs)
            .unwrap_or(self.config.ttl_secs)
            .clamp(1, self.config.max_ttl_secs);
        let pending = Pending {
            key: key(),
            ttl: Duration::from_secs(ttl_secs),
        };
        if request.directives.no_read {
            self.stats.miss();
            return Lookup::Miss(pending);
        }
        let found = match &self.store {
            Store::Memory(store) => Ok(store.get(&pending.key)),
            Store::Redis(store) => (store.get(&pending.key).await)
                .map(|bytes| bytes.and_then(|bytes| Entry::decode(&bytes).map(Arc::new))),
        };
        match found {
            Ok(Some(entry)) => Lookup::Hit(entry, pending),
            Ok(None) => {
                self.stats.miss();
                Lookup::Miss(pending)
            }
            Err(error) => {
                tracing::warn!(%error, "response cache unavailable: bypassed");
                self.stats.error();
                self.stats.bypass();
                Lookup::Bypass
            }
        }
    }

    /// Whether an answer of `bytes` (so far) may still be stored.
    pub fn fits(&self, bytes: usize) -> bool {
        bytes <= self.config.max_entry_bytes
    }

    /// The most bytes an answer may have to be stored.
    pub fn max_entry_bytes(&self) -> usize {
        self.config.max_entry_bytes
    }

    /// Stores `entry` where `pending` says; an entry over the size cap (encoded) is not stored.
    pub async fn store(&self, pending: &Pending, entry: Entry) {
        let encoded = entry.encode();
        if !self.fits(encoded.len()) {
            self.stats.oversize();
            return;
        }
        let size = encoded.len();
        let evicted = match &self.store {
            Store::Memory(store) => {
                let entry = Arc::new(entry);
                (store.put(pending.key.clone(), entry, size, pending.ttl)).evicted
            }
            Store::Redis(store) => match store.put(&pending.key, &encoded, pending.ttl).await {
                Ok(()) => 0,
                Err(error) => {
                    tracing::warn!(%error, "response cache unavailable: answer not stored");
                    self.stats.error();
                    return;
                }
            },
        };
        self.stats.stored(size, evicted);
    }

    /// Empties the cache: one account's entries (`Some(None)`: the operator's), or all
    /// (`None`). How many entries went.
    pub async fn clear(&self, account: Option<Option<&str>>) -> Result<u64, RedisStoreError> {
        let tag = account.map(key::account_tag);
        match &self.store {
            Store::Memory(store) => Ok(store.clear(tag.as_deref())),
            Store::Redis(store) => store.clear(tag.as_deref()).await,
        }
    }

    /// The in-process entries' total size in bytes and their count (`None` with Redis).
    pub fn size(&self) -> Option<(usize, usize)> {
        match &self.store {
            Store::Memory(store) => Some(store.size()),
            Store::Redis(_) => None,
        }
    }
}
