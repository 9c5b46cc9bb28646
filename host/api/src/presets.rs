//! Presets: named, operator-defined bundles of a model list, provider preferences, parameters and
//! a system prompt (`[presets.<name>]` in the configuration), used as `model: "@preset/<name>"`
//! or `preset: "<name>"` on the chat, completions and Messages-free OpenAI routes, and listed at
//! `GET /api/v1/presets`. What the request sets wins over the preset; an unknown preset is a 404.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::AppState;
use super::error::ApiError;
use switchyard_domain::config::presets::PresetConfig;

/// The model prefix naming a preset.
pub const PRESET_PREFIX: &str = "@preset/";

/// The configured presets by name, swapped whole when the configuration file changes
/// ([`watch`]).
#[derive(Debug, Default)]
pub struct Presets {
    presets: ArcSwap<BTreeMap<String, PresetConfig>>,
}

impl Presets {
    /// The presets of the configuration.
    pub fn new(presets: BTreeMap<String, PresetConfig>) -> Presets {
        Presets {
            presets: ArcSwap::from_pointee(presets),
        }
    }

    /// Replaces every preset.
    pub fn replace(&self, presets: BTreeMap<String, PresetConfig>) {
        self.presets.store(Arc::new(presets));
    }

    /// The body with the preset it names applied; the body unchanged when it names none.
    pub fn apply(&self, body: Bytes) -> Result<Bytes, ApiError> {
        // Most requests name no preset: no parse for them, and one vectorised search per marker
        // (a comparison at every byte was two memcmp calls per byte of the body).
        let mentions = |needle: &[u8]| memchr::memmem::find(&body, needle).is_some();
        if !mentions(PRESET_PREFIX.as_bytes()) && !mentions(b"\"preset\"") {
            return Ok(body);
        }
        let Ok(Value::Object(mut request)) = serde_json::from_slice::<Value>(&body) else {
            return Ok(body); // the chat validation names the problem
        };
        let from_model = match request.get("model") {
            Some(Value::String(model)) => model.strip_prefix(PRESET_PREFIX).map(str::to_owned),
            _ => None,
        };
        let from_field = match request.remove("preset") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name),
            Some(_) => return Err(ApiError::invalid_request("`preset` must be a string")),
        };
        let name = match (from_model, from_field) {
            (Some(a), Some(b)) if a != b => {
                return Err(ApiError::invalid_request(format!(
                    "`model` names preset {a:?} but `preset` is {b:?}"
                )));
            }
            (Some(name), _) | (None, Some(name)) => name,
            (None, None) => return Ok(body),
        };
        let presets = self.presets.load();
        let preset = presets.get(&name).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                format!("no preset named {name:?}"),
            )
            .with_code("preset_not_found")
        })?;
        apply(preset, &mut request);
        serde_json::to_vec(&request)
            .map(Bytes::from)
            .map_err(|error| ApiError::invalid_request(error.to_string()))
    }

    /// `GET /api/v1/presets`: every preset with its settings.
    pub fn list(&self) -> Value {
        let data: Vec<Value> = (self.presets.load().iter())
            .map(|(name, preset)| {
                let mut entry = serde_json::to_value(preset).unwrap_or_else(|_| json!({}));
                if let Value::Object(entry) = &mut entry {
                    entry.insert("name".to_owned(), json!(name));
                    entry.insert("slug".to_owned(), json!(format!("{PRESET_PREFIX}{name}")));
                }
                entry
            })
            .collect();
        json!({ "data": data })
    }
}

/// Puts the preset under the request: the request's own settings win.
fn apply(preset: &PresetConfig, request: &mut Map<String, Value>) {
    let names_preset = match request.get("model") {
        Some(Value::String(model)) => model.starts_with(PRESET_PREFIX),
        None | Some(Value::Null) => true,
        Some(_) => false,
    };
    if names_preset {
        let model = preset
            .model
            .clone()
            .or_else(|| preset.models.first().cloned());
        if let Some(model) = model {
            request.insert("model".to_owned(), Value::String(model));
        }
    }
    if !preset.models.is_empty() && !request.contains_key("models") {
        request.insert("models".to_owned(), json!(preset.models));
    }
    if let Some(Value::Object(defaults)) = &preset.provider {
        let mut provider = defaults.clone();
        if let Some(Value::Object(own)) = request.get("provider") {
            provider.extend(own.clone());
        }
        request.insert("provider".to_owned(), Value::Object(provider));
    }
    for (key, value) in &preset.parameters {
        request.entry(key.clone()).or_insert_with(|| value.clone());
    }
    if let Some(system) = &preset.system_prompt
        && let Some(Value::Array(messages)) = request.get_mut("messages")
    {
        messages.insert(0, json!({"role": "system", "content": system}));
    }
}

/// `GET /api/v1/presets`.
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    Json(state.presets.list())
}

/// How often the configuration file is looked at for changes.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Reloads the presets whenever the configuration file at `path` changes (its modification
/// time or size), until `presets` is dropped. A configuration that does not load keeps the
/// presets as they are, and says why in the log.
pub fn watch(presets: &Arc<Presets>, path: PathBuf, interval: Duration) {
    let presets = Arc::downgrade(presets);
    let stamp = |path: &PathBuf| -> Option<(SystemTime, u64)> {
        let metadata = std::fs::metadata(path).ok()?;
        Some((metadata.modified().ok()?, metadata.len()))
    };
    let mut seen = stamp(&path);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(presets) = presets.upgrade() else {
                return;
            };
            let now = stamp(&path);
            if now == seen {
                continue;
            }
            seen = now;
            match switchyard_domain::config::Config::load(Some(&path)) {
                Ok(config) => {
                    tracing::info!(presets = config.presets.len(), path = %path.display(), "configuration changed: presets reloaded");
                    presets.replace(config.presets);
                }
                Err(error) => {
                    tracing::warn!(%error, path = %path.display(), "configuration changed but does not load: presets unchanged");
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presets() -> Presets {
        let preset: PresetConfig = serde_json::from_value(json!({
            "models": ["a/one", "b/two"],
            "provider": {"sort": "price", "allow_fallbacks": true},
            "system_prompt": "Be terse.",
            "parameters": {"temperature": 0.1, "max_tokens": 10}
        }))
        .unwrap_or_default();
        Presets::new(BTreeMap::from([("terse".to_owned(), preset)]))
    }

    fn applied(body: Value) -> Result<Value, ApiError> {
        let bytes = presets().apply(Bytes::from(body.to_string()))?;
        Ok(serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[test]
    fn a_preset_fills_what_the_request_does_not_set() -> Result<(), ApiError> {
        let out = applied(json!({"model": "@preset/terse", "temperature": 0.9,
            "provider": {"sort": "latency"}, "messages": [{"role": "user", "content": "hi"}]}))?;
        assert_eq!(out["model"], "a/one");
        assert_eq!(out["models"], json!(["a/one", "b/two"]));
        assert_eq!(out["temperature"], 0.9);
        assert_eq!(out["max_tokens"], 10);
        assert_eq!(
            out["provider"],
            json!({"sort": "latency", "allow_fallbacks": true})
        );
        assert_eq!(
            out["messages"][0],
            json!({"role": "system", "content": "Be terse."})
        );
        let out = applied(json!({"model": "x/y", "preset": "terse", "messages": []}))?;
        assert_eq!(out["model"], "x/y");
        assert!(out.get("preset").is_none());
        Ok(())
    }

    #[test]
    fn an_unknown_preset_is_not_found_and_other_requests_pass_untouched() {
        let error = applied(json!({"model": "@preset/nope", "messages": []}));
        assert!(matches!(error, Err(e) if e.status() == StatusCode::NOT_FOUND));
        let body = Bytes::from_static(br#"{"model":"a/b","messages":[]}"#);
        let same = presets().apply(body.clone()).ok();
        assert_eq!(same, Some(body));
    }
}
