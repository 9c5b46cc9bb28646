//! What ranking by expected cost assumes, shared by routing policies (`router::expected_cost`)
//! and the host, which projects the cost of a shadow policy's choice the same way. Not behind a
//! feature, so the host reads it too.

/// Completion tokens assumed for the expected cost when the request sets no `max_tokens`.
pub const DEFAULT_COMPLETION_TOKENS: u64 = 512;
