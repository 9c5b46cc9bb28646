//! The `[routing.sticky]` and `[[routing.shadow]]` sections.

use serde::{Deserialize, Serialize};

/// `[routing.sticky]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StickyConfig {
    /// How long a conversation keeps its endpoint after a turn, in ms; 0 disables stickiness.
    #[serde(default = "default_ttl_ms")]
    pub ttl_ms: u64,
    /// Conversations remembered at once; past that, expired ones are dropped, then the oldest.
    #[serde(default = "default_max_sessions")]
    pub max_sessions: usize,
}

fn default_ttl_ms() -> u64 {
    300_000
}

fn default_max_sessions() -> usize {
    100_000
}

impl Default for StickyConfig {
    fn default() -> Self {
        StickyConfig {
            ttl_ms: default_ttl_ms(),
            max_sessions: default_max_sessions(),
        }
    }
}

/// One `[[routing.shadow]]` entry: a routing policy evaluated beside the live one.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowConfig {
    /// The routing policy plugin to evaluate.
    pub policy: String,
    /// The models (ids or aliases) whose requests it evaluates; absent: every model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
}
