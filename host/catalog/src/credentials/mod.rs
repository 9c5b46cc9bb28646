//! Credentials the host applies for a provider, apart from the static key of `api_key_env`:
//! Google OAuth access tokens for Vertex AI ([`google`]), pools of keys or deployments
//! ([`pool`]), and accounts' own keys (BYOK, [`byok`]); the gateway's `credential_plan` orders them
//! for one attempt.
//! Plugins never see any of them: the host puts them where the adapter asked.
//!
//! A token source is prepared once when the catalog is built (a malformed key file stops the
//! start); its token is cached, refreshed before expiry by one request at a time, and swapped
//! atomically, so the request path only loads a pointer.

pub mod google;
pub mod pool;
pub mod prepared;

pub use google::{GoogleToken, GoogleTokenSource};

/// Which credential served an attempt, put in the upstream response's extensions: its name for
/// stats and the routing trace (never the secret), and whether it was the account's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServedBy {
    /// The pooled credential's name, or `byok`.
    pub credential: Option<String>,
    /// The account's own credential served: the call is charged the BYOK fee.
    pub byok: bool,
}
