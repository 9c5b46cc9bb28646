//! Credentials the host applies for a provider, apart from the static key of `api_key_env`:
//! Google OAuth access tokens for Vertex AI ([`google`]), pools of keys or deployments
//! ([`pool`]), and accounts' own keys (BYOK, [`byok`]); [`plan`] orders them for one attempt.
//! Plugins never see any of them: the host puts them where the adapter asked.
//!
//! A token source is prepared once when the catalog is built (a malformed key file stops the
//! start); its token is cached, refreshed before expiry by one request at a time, and swapped
//! atomically, so the request path only loads a pointer.

pub mod byok;
pub mod google;
pub mod plan;
pub mod pool;

use std::sync::Arc;

use crate::catalog::Provider;
use crate::failure::Failure;

pub use byok::AccountCredential;
pub use google::{GoogleToken, GoogleTokenSource};
pub use plan::{Plan, ServedBy};

/// The token to send with a request to `provider`, when the host mints its credential.
pub async fn minted(provider: &Provider) -> Result<Option<Arc<GoogleToken>>, Failure> {
    let Some(source) = &provider.google_credentials else {
        return Ok(None);
    };
    match source.token().await {
        Ok(token) => Ok(Some(token)),
        Err(error) => Err(Failure::Transport {
            provider: provider.name.clone(),
            message: format!("cannot get a Google access token: {error}"),
        }),
    }
}

/// The upstream refused `token` (401): the next request gets a fresh one.
pub fn rejected(provider: &Provider, token: &Arc<GoogleToken>) {
    if let Some(source) = &provider.google_credentials {
        tracing::info!(provider = %provider.name, "upstream refused the access token: refreshing it");
        source.forget(token);
    }
}
