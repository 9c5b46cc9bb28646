//! Operator options of an endpoint (`endpoint.options`), parsed once per request by the SDK's
//! typed options: unknown keys and invalid values are refused naming the option.

use serde::Deserialize;
use switchyard_sdk::provider::{
    CredentialPlacement, EndpointOptions, EndpointSettings, Header, PluginError,
};

/// The options this adapter understands (see the crate documentation for the table).
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the host puts the credential.
    pub credential: CredentialPlacement,
    /// Static extra headers (`header.<name>` options).
    pub headers: Vec<Header>,
}

/// The options besides `header.<name>`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    auth: Auth,
}

/// Where the credential goes.
#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
enum Auth {
    /// The `x-goog-api-key` header (Google AI Studio keys).
    #[default]
    XGoogApiKey,
    /// `Authorization: Bearer` (Vertex AI access tokens).
    Bearer,
    /// The `key` query parameter.
    Query,
    /// No credential.
    None,
}

impl From<Auth> for CredentialPlacement {
    fn from(auth: Auth) -> Self {
        match auth {
            Auth::XGoogApiKey => CredentialPlacement::Header("x-goog-api-key".to_owned()),
            Auth::Bearer => CredentialPlacement::Bearer,
            Auth::Query => CredentialPlacement::Query("key".to_owned()),
            Auth::None => CredentialPlacement::None,
        }
    }
}

impl Options {
    /// Reads the options of `endpoint`. Unknown keys (typos) and invalid values are an
    /// operator configuration error reported as [`PluginError::Internal`].
    pub fn parse(endpoint: &EndpointSettings) -> Result<Options, PluginError> {
        let EndpointOptions { settings, headers } = EndpointOptions::<Settings>::parse(endpoint)?;
        Ok(Options {
            credential: settings.auth.into(),
            headers,
        })
    }
}
