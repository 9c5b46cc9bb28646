//! Operator options of an endpoint (`endpoint.options`), parsed once per request.

use switchyard_sdk::provider::{CredentialPlacement, EndpointSettings, Header, PluginError};

/// The options this adapter understands (see the crate documentation for the table).
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the host puts the credential.
    pub credential: CredentialPlacement,
    /// Path appended to the base URL.
    pub path: String,
    /// Static extra headers.
    pub headers: Vec<Header>,
}

impl Options {
    /// Reads the options of `endpoint`. Unknown keys (typos) and invalid values are an
    /// operator configuration error reported as [`PluginError::Internal`].
    pub fn parse(endpoint: &EndpointSettings) -> Result<Options, PluginError> {
        let mut options = Options {
            credential: CredentialPlacement::Bearer,
            path: "chat/completions".to_owned(),
            headers: Vec::new(),
        };
        for (key, value) in &endpoint.options {
            match key.as_str() {
                "auth" => {
                    options.credential = match value.as_str() {
                        "bearer" => CredentialPlacement::Bearer,
                        "none" => CredentialPlacement::None,
                        other => {
                            return Err(PluginError::Internal(format!(
                                "mistral adapter: invalid value {other:?} for endpoint option `{key}`"
                            )));
                        }
                    }
                }
                "path" => options.path = value.clone(),
                _ => match key.strip_prefix("header.").filter(|n| !n.is_empty()) {
                    Some(name) => options.headers.push((name.to_owned(), value.clone())),
                    None => {
                        return Err(PluginError::Internal(format!(
                            "mistral adapter: unknown endpoint option `{key}`"
                        )));
                    }
                },
            }
        }
        Ok(options)
    }
}
