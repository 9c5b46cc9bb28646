//! Operator options of an endpoint (`endpoint.options`), parsed once per request.

use switchyard_sdk::provider::{CredentialPlacement, EndpointSettings, Header, PluginError};

/// `api-version` used when the option is absent (the current GA version).
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

/// The options this adapter understands (see the crate documentation for the table).
#[derive(Debug, Clone)]
pub struct Options {
    /// The `api-version` query parameter.
    pub api_version: String,
    /// Where the host puts the credential.
    pub credential: CredentialPlacement,
    /// Static extra headers.
    pub headers: Vec<Header>,
    /// Ask for usage in streams with `stream_options.include_usage`.
    pub include_usage: bool,
    /// Send the output token limit under this field name only.
    pub max_tokens_field: Option<String>,
}

impl Options {
    /// Reads the options of `endpoint`. Unknown keys (typos) and invalid values are an
    /// operator configuration error reported as [`PluginError::Internal`].
    pub fn parse(endpoint: &EndpointSettings) -> Result<Options, PluginError> {
        let mut options = Options {
            api_version: DEFAULT_API_VERSION.to_owned(),
            credential: CredentialPlacement::Header("api-key".to_owned()),
            headers: Vec::new(),
            include_usage: true,
            max_tokens_field: None,
        };
        for (key, value) in &endpoint.options {
            match key.as_str() {
                "api_version" => {
                    let valid = !value.is_empty()
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
                    if !valid {
                        return Err(invalid(key, value));
                    }
                    options.api_version = value.clone();
                }
                "auth" => {
                    options.credential = match value.as_str() {
                        "api-key" => CredentialPlacement::Header("api-key".to_owned()),
                        "bearer" => CredentialPlacement::Bearer,
                        "none" => CredentialPlacement::None,
                        other => return Err(invalid(key, other)),
                    }
                }
                "include_usage" => {
                    options.include_usage = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        other => return Err(invalid(key, other)),
                    }
                }
                "max_tokens_field" => match value.as_str() {
                    "max_tokens" | "max_completion_tokens" => {
                        options.max_tokens_field = Some(value.clone());
                    }
                    other => return Err(invalid(key, other)),
                },
                _ => match key.strip_prefix("header.").filter(|n| !n.is_empty()) {
                    Some(name) => options.headers.push((name.to_owned(), value.clone())),
                    None => {
                        return Err(PluginError::Internal(format!(
                            "azure-openai adapter: unknown endpoint option `{key}`"
                        )));
                    }
                },
            }
        }
        Ok(options)
    }
}

fn invalid(key: &str, value: &str) -> PluginError {
    PluginError::Internal(format!(
        "azure-openai adapter: invalid value {value:?} for endpoint option `{key}`"
    ))
}
