//! Operator options of an endpoint (`endpoint.options`), parsed once per request.

use switchyard_sdk::provider::{CredentialPlacement, EndpointSettings, PluginError};

/// The options this adapter understands (see the crate documentation for the table).
#[derive(Debug, Clone)]
pub struct Options {
    /// `max_tokens` when the request sets no output limit.
    pub default_max_tokens: u64,
    /// The `anthropic-version` header.
    pub version: String,
    /// The `anthropic-beta` header, when configured.
    pub beta: Option<String>,
    /// Where the host puts the credential.
    pub credential: CredentialPlacement,
    /// Path appended to the base URL.
    pub path: String,
}

impl Options {
    /// Reads the options of `endpoint`. Unknown keys (typos) and invalid values are an
    /// operator configuration error reported as [`PluginError::Internal`].
    pub fn parse(endpoint: &EndpointSettings) -> Result<Options, PluginError> {
        let mut options = Options {
            default_max_tokens: 4096,
            version: "2023-06-01".to_owned(),
            beta: None,
            credential: CredentialPlacement::Header("x-api-key".to_owned()),
            path: "messages".to_owned(),
        };
        for (key, value) in &endpoint.options {
            match key.as_str() {
                "default_max_tokens" => {
                    options.default_max_tokens = value
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| invalid(key, value))?;
                }
                "anthropic_version" => options.version = value.clone(),
                "anthropic_beta" => options.beta = Some(value.clone()),
                "auth" => {
                    options.credential = match value.as_str() {
                        "x-api-key" => CredentialPlacement::Header("x-api-key".to_owned()),
                        "bearer" => CredentialPlacement::Bearer,
                        "none" => CredentialPlacement::None,
                        other => return Err(invalid(key, other)),
                    }
                }
                "path" => options.path = value.clone(),
                _ => {
                    return Err(PluginError::Internal(format!(
                        "anthropic adapter: unknown endpoint option `{key}`"
                    )));
                }
            }
        }
        Ok(options)
    }
}

fn invalid(key: &str, value: &str) -> PluginError {
    PluginError::Internal(format!(
        "anthropic adapter: invalid value {value:?} for endpoint option `{key}`"
    ))
}
