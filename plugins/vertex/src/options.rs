//! Operator options of a Vertex AI endpoint (`endpoint.options`): unknown keys and invalid values
//! are refused naming the option.

use serde::Deserialize;
use switchyard_sdk::provider::{
    CredentialPlacement, EndpointOptions, EndpointSettings, Header, PluginError,
};

/// The options this adapter understands (see the crate documentation for the table).
#[derive(Debug, Clone)]
pub struct Options {
    /// The Google Cloud project.
    pub project: String,
    /// The Vertex AI location (`global`, `us-east5`...).
    pub region: String,
    /// `anthropic_version` sent in the body of Claude requests.
    pub anthropic_version: String,
    /// The `anthropic-beta` header always sent with Claude requests, when configured.
    pub anthropic_beta: Option<String>,
    /// `max_tokens` of Claude requests that set no output limit.
    pub default_max_tokens: u64,
    /// Where the host puts the credential.
    pub credential: CredentialPlacement,
    /// Static extra headers (`header.<name>` options).
    pub headers: Vec<Header>,
}

/// The options besides `header.<name>`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    project: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default = "default_anthropic_version")]
    anthropic_version: String,
    #[serde(default)]
    anthropic_beta: Option<String>,
    #[serde(default = "default_max_tokens")]
    default_max_tokens: u64,
    #[serde(default)]
    auth: Auth,
}

fn default_anthropic_version() -> String {
    "vertex-2023-10-16".to_owned()
}

fn default_max_tokens() -> u64 {
    4096
}

/// Where the credential goes.
#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
enum Auth {
    /// `Authorization: Bearer` (a Google OAuth access token the host mints).
    #[default]
    Bearer,
    /// No credential (a proxy in front of Vertex AI adds it).
    None,
}

impl Options {
    /// Reads the options of `endpoint`. The region defaults to the one the base URL's host names
    /// (`{region}-aiplatform.googleapis.com`, or `global` for `aiplatform.googleapis.com`).
    pub fn parse(endpoint: &EndpointSettings) -> Result<Options, PluginError> {
        let EndpointOptions { settings, headers } = EndpointOptions::<Settings>::parse(endpoint)?;
        let project = settings
            .project
            .filter(|project| !project.trim().is_empty())
            .ok_or_else(|| {
                PluginError::Internal(
                    "vertex adapter: endpoint option `project` is required".to_owned(),
                )
            })?;
        let region = match settings.region.filter(|region| !region.trim().is_empty()) {
            Some(region) => region,
            None => region_of(&endpoint.base_url).ok_or_else(|| {
                PluginError::Internal(format!(
                    "vertex adapter: endpoint option `region` is required: the base URL {:?} names none",
                    endpoint.base_url
                ))
            })?,
        };
        if settings.default_max_tokens == 0 {
            return Err(PluginError::Internal(
                "vertex adapter: invalid value \"0\" for endpoint option `default_max_tokens`"
                    .to_owned(),
            ));
        }
        Ok(Options {
            project,
            region,
            anthropic_version: settings.anthropic_version,
            anthropic_beta: settings.anthropic_beta,
            default_max_tokens: settings.default_max_tokens,
            credential: match settings.auth {
                Auth::Bearer => CredentialPlacement::Bearer,
                Auth::None => CredentialPlacement::None,
            },
            headers,
        })
    }
}

/// The Vertex AI location a base URL's host serves: `global` for `aiplatform.googleapis.com`,
/// `{region}` for `{region}-aiplatform.googleapis.com`.
pub fn region_of(base_url: &str) -> Option<String> {
    let host = base_url.split("://").nth(1)?.split(['/', ':']).next()?;
    let host = host.to_ascii_lowercase();
    if host == "aiplatform.googleapis.com" {
        return Some("global".to_owned());
    }
    host.strip_suffix("-aiplatform.googleapis.com")
        .filter(|region| !region.is_empty() && !region.contains('.'))
        .map(str::to_owned)
}

/// The API host serving a Vertex AI location: `aiplatform.googleapis.com` for `global`,
/// `{region}-aiplatform.googleapis.com` otherwise.
pub fn host_of(region: &str) -> String {
    if region == "global" {
        "aiplatform.googleapis.com".to_owned()
    } else {
        format!("{region}-aiplatform.googleapis.com")
    }
}
