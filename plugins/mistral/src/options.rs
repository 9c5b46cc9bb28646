//! Operator options of an endpoint (`endpoint.options`), parsed once per request by the SDK's
//! typed options: unknown keys and invalid values are refused naming the option.

use serde::Deserialize;
use switchyard_sdk::provider::{
    BearerAuth, CredentialPlacement, EndpointOptions, EndpointSettings, Header, PluginError,
};

/// The options this adapter understands (see the crate documentation for the table).
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the host puts the credential.
    pub credential: CredentialPlacement,
    /// Path appended to the base URL.
    pub path: String,
    /// Static extra headers (`header.<name>` options).
    pub headers: Vec<Header>,
}

/// The options besides `header.<name>`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    auth: BearerAuth,
    #[serde(default = "default_path")]
    path: String,
}

fn default_path() -> String {
    "chat/completions".to_owned()
}

impl Options {
    /// Reads the options of `endpoint`. Unknown keys (typos) and invalid values are an
    /// operator configuration error reported as [`PluginError::Internal`].
    pub fn parse(endpoint: &EndpointSettings) -> Result<Options, PluginError> {
        let EndpointOptions { settings, headers } = EndpointOptions::<Settings>::parse(endpoint)?;
        Ok(Options {
            credential: settings.auth.into(),
            path: settings.path,
            headers,
        })
    }
}
