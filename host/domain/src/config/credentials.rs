//! Credential sections: pooled credentials, Google service credentials, accounts' own keys.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::BreakerConfig;

/// The scope Vertex AI needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// One credential of a provider's pool (`[[providers.<name>.credentials]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PooledCredentialConfig {
    /// Its name in stats, traces and logs (never the secret).
    pub name: String,
    /// Environment variable holding the credential; unset or empty leaves it out of the pool.
    pub api_key_env: String,
    /// Relative share of requests. Default: 1.
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// A base URL of its own (another region or deployment), replacing the provider's at the
    /// start of each request URL the adapter builds.
    #[serde(default)]
    pub base_url: Option<String>,
}

fn default_weight() -> f64 {
    1.0
}

/// How long a pooled credential answering 429 or 401 is skipped: `failures` such answers in a
/// row (default 1) open its breaker for `cooldown_ms` (default 60 s).
pub fn default_breaker() -> BreakerConfig {
    BreakerConfig {
        failures: 1,
        cooldown_ms: 60_000,
    }
}

/// `[accounting.byok]`: the operator key and the fee.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByokConfig {
    /// Environment variable holding the operator keys that seal accounts' keys: `id:base64`
    /// 32-byte keys separated by commas, the first current. Unset: BYOK is off.
    #[serde(default = "default_keys_env")]
    pub keys_env: String,
    /// What a call served on the account's own key is charged, in percent of what it would
    /// have cost. Default: 5.
    #[serde(default = "default_fee_percent")]
    pub fee_percent: Decimal,
}

impl Default for ByokConfig {
    fn default() -> Self {
        ByokConfig {
            keys_env: default_keys_env(),
            fee_percent: default_fee_percent(),
        }
    }
}

fn default_keys_env() -> String {
    "SWITCHYARD_BYOK_KEYS".to_owned()
}

fn default_fee_percent() -> Decimal {
    Decimal::new(5, 0)
}
