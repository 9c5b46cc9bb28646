//! The `[cache]` section of the configuration.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::default_true;

/// Who shares cache entries: everything of one account by default; a team's or a key's
/// requests only, when narrowed. With accounting off every request is the operator's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    /// The key's account.
    #[default]
    Account,
    /// The key's team (the account when the key has none).
    Team,
    /// The key itself.
    Key,
}

/// The response cache: exact-match answers to repeated requests (see `switchyard_gateway::cache`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Cache for every account. Default: false (then only the accounts and keys listed below,
    /// and requests that opt in with `X-Switchyard-Cache: true`, use it).
    #[serde(default)]
    pub enabled: bool,
    /// Account ids that use the cache when `enabled` is false.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// API key ids that use the cache when `enabled` is false.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Let a request opt in with `X-Switchyard-Cache: true` (or `X-OpenRouter-Cache: true`).
    /// Default: true.
    #[serde(default = "default_true")]
    pub request_opt_in: bool,
    /// Cache requests whose `temperature` is above 0 or absent (the default is 1, so the answer
    /// varies). Default: false: only `temperature: 0` requests, or requests that opt in.
    #[serde(default)]
    pub any_temperature: bool,
    /// Who shares entries. Default: `account`.
    #[serde(default)]
    pub scope: CacheScope,
    /// How long an entry lives, in seconds. Default: 300.
    #[serde(default = "default_ttl_secs")]
    pub ttl_secs: u64,
    /// The longest a request's `X-Switchyard-Cache-TTL` may ask for, in seconds. Default: 86400.
    #[serde(default = "default_max_ttl_secs")]
    pub max_ttl_secs: u64,
    /// The in-process store's size, in bytes (least recently used entries go first). Default:
    /// 64 MiB.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// The largest entry stored, in bytes; a larger answer is served but not stored. Default:
    /// 1 MiB.
    #[serde(default = "default_max_entry_bytes")]
    pub max_entry_bytes: usize,
    /// Keep entries in Redis at this URL instead, shared by every gateway using it.
    #[serde(default)]
    pub redis_url: Option<String>,
    /// The longest a request waits for Redis, in milliseconds; then the cache is bypassed.
    /// Default: 200.
    #[serde(default = "default_redis_timeout_ms")]
    pub redis_timeout_ms: u64,
    /// The share of the stored answer's price a hit is charged (0 to 1), the platform fee
    /// added as for any call. Default: 0.
    #[serde(default)]
    pub hit_price_fraction: Decimal,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: false,
            accounts: Vec::new(),
            keys: Vec::new(),
            request_opt_in: true,
            any_temperature: false,
            scope: CacheScope::Account,
            ttl_secs: default_ttl_secs(),
            max_ttl_secs: default_max_ttl_secs(),
            max_bytes: default_max_bytes(),
            max_entry_bytes: default_max_entry_bytes(),
            redis_url: None,
            redis_timeout_ms: default_redis_timeout_ms(),
            hit_price_fraction: Decimal::ZERO,
        }
    }
}

impl CacheConfig {
    /// Why this section is invalid, if it is.
    pub fn problem(&self) -> Option<String> {
        if self.hit_price_fraction < Decimal::ZERO || self.hit_price_fraction > Decimal::ONE {
            return Some("cache.hit_price_fraction must be between 0 and 1".to_owned());
        }
        if self.ttl_secs == 0 || self.max_ttl_secs == 0 {
            return Some("cache.ttl_secs and cache.max_ttl_secs must be positive".to_owned());
        }
        if self.redis_timeout_ms == 0 {
            return Some("cache.redis_timeout_ms must be positive".to_owned());
        }
        if let Some(url) = &self.redis_url
            && redis::IntoConnectionInfo::into_connection_info(url.as_str()).is_err()
        {
            return Some("cache.redis_url is not a Redis URL".to_owned());
        }
        None
    }
}

fn default_ttl_secs() -> u64 {
    300
}

fn default_max_ttl_secs() -> u64 {
    86_400
}

fn default_max_bytes() -> usize {
    64 * 1024 * 1024
}

fn default_max_entry_bytes() -> usize {
    1024 * 1024
}

fn default_redis_timeout_ms() -> u64 {
    200
}
