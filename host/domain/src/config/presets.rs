//! Presets: named bundles of model, provider preferences, system prompt and parameters.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One preset, as configured.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PresetConfig {
    /// What it is for (listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The model; default: the first of `models`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Fallback models, in order (OpenRouter's `models`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Provider preferences (OpenRouter's `provider` object); the request's keys win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Value>,
    /// A system message put before the request's messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Request parameters (`temperature`, `max_tokens`, `reasoning`...) the request does not set.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

impl PresetConfig {
    /// Checks the preset can serve: it names a model, its provider preferences are an object.
    pub fn check(&self, name: &str) -> Result<(), String> {
        if self.model.is_none() && self.models.is_empty() {
            return Err(format!("presets.{name}: set `model` or `models`"));
        }
        if self.provider.as_ref().is_some_and(|p| !p.is_object()) {
            return Err(format!("presets.{name}: `provider` must be a table"));
        }
        for reserved in [
            "model", "models", "messages", "provider", "preset", "stream",
        ] {
            if self.parameters.contains_key(reserved) {
                return Err(format!(
                    "presets.{name}: `{reserved}` is not a parameter (set it on the preset itself)"
                ));
            }
        }
        Ok(())
    }
}
