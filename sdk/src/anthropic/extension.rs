//! The canonical request's Anthropic extension ([`ANTHROPIC_EXTENSION`]), typed for the adapters
//! that read it (Anthropic's own, and Bedrock's for what Converse can carry): what Switchyard's
//! Anthropic Messages API (or a chat client) says for an Anthropic-native upstream beyond the
//! canonical format — `anthropic-beta` values and the `anthropic-version` to send,
//! `cache_control` on tools, tool result details (`is_error`, `cache_control`, content blocks
//! such as images), and the content blocks that canonical parts stand for (documents with their
//! `citations`, `title` and `context`, search results, cited text).

use std::collections::HashMap;

use crate::openai::{ANTHROPIC_EXTENSION, ChatRequest};
use crate::provider::PluginError;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The extension of one request; empty when the request has none.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    /// `anthropic-beta` values the client asked for.
    #[serde(default)]
    pub beta: Vec<String>,
    /// The `anthropic-version` the client sent.
    #[serde(default)]
    pub version: Option<String>,
    /// `cache_control` of tools, by tool name.
    #[serde(default)]
    pub tool_cache_control: HashMap<String, Value>,
    /// Tool result details, by `tool_use_id`.
    #[serde(default)]
    pub tool_results: HashMap<String, ToolResult>,
    /// Content blocks to send instead of the canonical parts they stand for.
    #[serde(default)]
    pub blocks: Vec<NativeBlock>,
}

/// A content block as the client sent it, standing for the canonical part at `part` of message
/// `message` (indices into the canonical request). A `document` without `source` takes it from
/// the part: a `file` part's data or URL, a `text` part's text (a plain-text source).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeBlock {
    /// Index of the message in the canonical request.
    pub message: usize,
    /// Index of the part in the message's content.
    pub part: usize,
    /// The block.
    pub block: Map<String, Value>,
}

/// What a `tool_result` block says beyond its text.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolResult {
    /// The tool failed.
    #[serde(default)]
    pub is_error: Option<bool>,
    /// The block's `cache_control`.
    #[serde(default)]
    pub cache_control: Option<Value>,
    /// The result's content blocks as the client sent them, when they are more than text.
    #[serde(default)]
    pub content: Option<Vec<Value>>,
}

impl Extension {
    /// Reads the extension of `request`. A malformed one, or a beta or version that is not a
    /// header token, is an invalid request.
    pub fn of(request: &ChatRequest) -> Result<Extension, PluginError> {
        let Some(value) = request.extra.get(ANTHROPIC_EXTENSION) else {
            return Ok(Extension::default());
        };
        let extension = Extension::deserialize(value)
            .map_err(|e| PluginError::InvalidRequest(format!("`{ANTHROPIC_EXTENSION}`: {e}")))?;
        for value in extension.beta.iter().chain(&extension.version) {
            if !is_token(value) {
                return Err(PluginError::InvalidRequest(format!(
                    "`{ANTHROPIC_EXTENSION}`: {value:?} is not a valid anthropic-beta or \
                     anthropic-version value"
                )));
            }
        }
        Ok(extension)
    }

    /// The block standing for part `part` of message `message`, if any.
    pub fn block(&self, message: usize, part: usize) -> Option<&Map<String, Value>> {
        self.blocks
            .iter()
            .find(|native| native.message == message && native.part == part)
            .map(|native| &native.block)
    }

    /// The `anthropic-beta` header: the endpoint's `configured` betas (comma-separated), then
    /// the client's, each once; `None` when there are none.
    pub fn beta_header(&self, configured: Option<&str>) -> Option<String> {
        let mut betas: Vec<&str> = Vec::new();
        let configured = configured
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim);
        for beta in configured.chain(self.beta.iter().map(String::as_str)) {
            if !beta.is_empty() && !betas.contains(&beta) {
                betas.push(beta);
            }
        }
        (!betas.is_empty()).then(|| betas.join(","))
    }
}

/// Letters, digits, `-`, `_` and `.`: what beta names and versions are made of, and nothing a
/// header could be broken with.
fn is_token(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
