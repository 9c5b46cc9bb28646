//! Operator options of an endpoint (`endpoint.options`), parsed once per request.

use switchyard_sdk::provider::{CredentialPlacement, EndpointSettings, Header, PluginError};

/// Path appended to the base URL when the `path` option is absent.
const DEFAULT_PATH: &str = "chat/completions";
/// Path of embeddings requests when the `embeddings_path` option is absent.
const DEFAULT_EMBEDDINGS_PATH: &str = "embeddings";

/// The options this adapter understands (see the crate documentation for the table).
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the host puts the credential.
    pub credential: CredentialPlacement,
    /// Path appended to the base URL.
    pub path: String,
    /// Path appended to the base URL for embeddings.
    pub embeddings_path: String,
    /// Static extra headers.
    pub headers: Vec<Header>,
    /// Ask for usage in streams with `stream_options.include_usage`.
    pub include_usage: bool,
    /// Send the output token limit under this field name only.
    pub max_tokens_field: Option<String>,
    /// The top-level field `reasoning.max_tokens` goes under (`reasoning_budget_field`); without
    /// it, a request with a reasoning budget is refused.
    pub reasoning_budget_field: Option<String>,
}

impl Options {
    /// Reads the options of `endpoint`. Unknown keys (typos) and invalid values are an
    /// operator configuration error reported as [`PluginError::Internal`].
    pub fn parse(endpoint: &EndpointSettings) -> Result<Options, PluginError> {
        let mut options = Options {
            credential: CredentialPlacement::Bearer,
            path: DEFAULT_PATH.to_owned(),
            embeddings_path: DEFAULT_EMBEDDINGS_PATH.to_owned(),
            headers: Vec::new(),
            include_usage: true,
            max_tokens_field: None,
            reasoning_budget_field: None,
        };
        for (key, value) in &endpoint.options {
            match key.as_str() {
                "auth" => {
                    options.credential = match value.as_str() {
                        "bearer" => CredentialPlacement::Bearer,
                        "none" => CredentialPlacement::None,
                        other => return Err(invalid(key, other)),
                    }
                }
                "api_key_header" if !value.trim().is_empty() => {
                    options.credential = CredentialPlacement::Header(value.trim().to_owned());
                }
                "api_key_query" if !value.trim().is_empty() => {
                    options.credential = CredentialPlacement::Query(value.trim().to_owned());
                }
                "api_key_header" | "api_key_query" => return Err(invalid(key, value)),
                "path" => options.path = value.clone(),
                "embeddings_path" => options.embeddings_path = value.clone(),
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
                "reasoning_budget_field" if !value.trim().is_empty() => {
                    options.reasoning_budget_field = Some(value.trim().to_owned());
                }
                "reasoning_budget_field" => return Err(invalid(key, value)),
                _ => match key.strip_prefix("header.").filter(|n| !n.is_empty()) {
                    Some(name) => options.headers.push((name.to_owned(), value.clone())),
                    None => return Err(unknown(key)),
                },
            }
        }
        Ok(options)
    }
}

fn unknown(key: &str) -> PluginError {
    PluginError::Internal(format!("openai adapter: unknown endpoint option `{key}`"))
}

fn invalid(key: &str, value: &str) -> PluginError {
    PluginError::Internal(format!(
        "openai adapter: invalid value {value:?} for endpoint option `{key}`"
    ))
}
