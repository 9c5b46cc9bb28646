//! Which transforms run for a request: the operator's attachments that apply to its key, team
//! and account, in configuration order, then the ones its `plugins` (`[{"id": ...}]`) or
//! `transforms` (`["middle-out"]`) field adds, if the operator allows them. A request never
//! removes an attached transform; naming one again changes nothing.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::run::{Applied, Entry};
use switchyard_accounting::tab::Tab;
use switchyard_domain::config::transforms::{OnFault, Requester, TransformsConfig};
use switchyard_domain::error::DomainError;
use switchyard_domain::transform_refusal::TransformRefusal;
use switchyard_plugin_runtime::PluginRegistry;
use switchyard_plugin_runtime::warm::TenantScope;
use switchyard_sdk::openai::ChatRequest;

/// The request fields that add transforms.
const REQUEST_FIELDS: [&str; 2] = ["plugins", "transforms"];

/// A `[transforms]` section the loaded plugins cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum TransformsError {
    /// An attached or allowed transform is not loaded.
    #[error("{place}: no transform named {id} is loaded (a plugin of kind transform)")]
    Unknown {
        /// Where the configuration names it.
        place: String,
        /// Its id.
        id: String,
    },
    /// An attachment names more than one of account, team and key.
    #[error("{place} ({id}): set at most one of `account`, `team` and `key`")]
    Scope {
        /// Where.
        place: String,
        /// Its id.
        id: String,
    },
    /// The transform refused its options.
    #[error("{place} ({id}): invalid options: {message}")]
    Options {
        /// Where.
        place: String,
        /// Its id.
        id: String,
        /// The transform's reason.
        message: String,
    },
}

/// The configured transforms, resolved per request against the loaded plugins.
#[derive(Debug)]
pub struct Transforms {
    config: TransformsConfig,
    /// Each attachment's options as JSON text, in attachment order.
    options: Vec<Arc<str>>,
    plugins: Arc<PluginRegistry>,
}

impl Transforms {
    /// Checks `config` against the loaded `plugins`: every attached and allowed id names a
    /// transform, and every attachment's options pass the transform's `check-options`.
    pub async fn start(
        config: &TransformsConfig,
        plugins: Arc<PluginRegistry>,
    ) -> Result<Transforms, TransformsError> {
        let mut options = Vec::with_capacity(config.attach.len());
        for (index, attachment) in config.attach.iter().enumerate() {
            let place = format!("transforms.attach[{index}]");
            let id = attachment.id.clone();
            let scopes = [&attachment.account, &attachment.team, &attachment.key];
            if scopes.iter().filter(|scope| scope.is_some()).count() > 1 {
                return Err(TransformsError::Scope { place, id });
            }
            let Some(plugin) = plugins.transform(&id) else {
                return Err(TransformsError::Unknown { place, id });
            };
            let text = Value::Object(attachment.options.clone()).to_string();
            let verdict = plugin.check_options(&TenantScope::OPERATOR, &text).await;
            let message = match verdict {
                Ok(Ok(())) => None,
                Ok(Err(message)) => Some(message),
                Err(fault) => Some(fault.to_string()),
            };
            if let Some(message) = message {
                return Err(TransformsError::Options { place, id, message });
            }
            options.push(Arc::from(text));
        }
        for id in &config.allow {
            if plugins.transform(id).is_none() {
                let place = "transforms.allow".to_owned();
                let id = id.clone();
                return Err(TransformsError::Unknown { place, id });
            }
        }
        Ok(Transforms {
            config: config.clone(),
            options,
            plugins,
        })
    }

    /// No transform attached or allowed.
    pub fn none(plugins: Arc<PluginRegistry>) -> Transforms {
        Transforms {
            config: TransformsConfig::default(),
            options: Vec::new(),
            plugins,
        }
    }

    /// The transforms of a request (`request`, sent as `body`, accounted on `tab`), in the order
    /// they run. The request's own `plugins` and
    /// `transforms` fields are taken off its body: no upstream sees them.
    pub async fn resolve(
        &self,
        request: &mut ChatRequest,
        body: &mut Bytes,
        tab: &Tab,
    ) -> Result<Arc<Applied>, DomainError> {
        let asks = REQUEST_FIELDS
            .iter()
            .any(|field| request.extra.contains_key(*field));
        if self.config.attach.is_empty() && !asks {
            return Ok(Arc::new(Applied::none()));
        }
        let (key, account) = tab.key_and_account().unzip();
        let requester = Requester {
            key,
            account,
            team: tab.team_id(),
        };
        let scope = TenantScope::of(account);
        let mut entries: Vec<Entry> = Vec::new();
        let attached = self.config.attach.iter().zip(&self.options);
        for (attachment, options) in attached.filter(|(a, _)| a.applies_to(&requester)) {
            match self.plugins.transform(&attachment.id) {
                Some(plugin) => entries.push(Entry {
                    plugin,
                    options: options.clone(),
                    on_fault: attachment.on_fault,
                }),
                None if attachment.on_fault == OnFault::Pass => {
                    tracing::warn!(transform = %attachment.id, "attached transform is not loaded; passed (on_fault = \"pass\")");
                }
                None => {
                    return Err(refused(
                        &attachment.id,
                        500,
                        "transform_failed",
                        format!(
                            "transform {} is attached but not loaded (removed at runtime?); the \
                             request is refused",
                            attachment.id
                        ),
                    ));
                }
            }
        }
        if asks {
            for (id, options) in requested(&mut request.extra)? {
                if entries.iter().any(|entry| entry.plugin.name() == id) {
                    continue;
                }
                entries.push(self.allowed(&scope, &id, options).await?);
            }
            *body = Bytes::from(serde_json::to_vec(request).unwrap_or_default());
        }
        Ok(Arc::new(Applied::new(
            entries,
            scope,
            Some(self.plugins.clone()),
        )))
    }

    /// The entry of transform `id` a request asked for with `options`, if the operator allows it
    /// and it accepts them.
    async fn allowed(
        &self,
        scope: &TenantScope,
        id: &str,
        options: Map<String, Value>,
    ) -> Result<Entry, DomainError> {
        let plugin = (self.config.allow.iter().any(|allowed| allowed == id))
            .then(|| self.plugins.transform(id))
            .flatten();
        let Some(plugin) = plugin else {
            let allowed = match self.config.allow.is_empty() {
                true => "none".to_owned(),
                false => self.config.allow.join(", "),
            };
            return Err(refused(
                id,
                400,
                "transform_not_allowed",
                format!(
                    "the plugin or transform `{id}` is not available on this gateway (a request \
                     may add: {allowed})"
                ),
            ));
        };
        let text = Value::Object(options).to_string();
        if text != "{}" {
            let message = match plugin.check_options(scope, &text).await {
                Ok(Ok(())) => None,
                Ok(Err(message)) => Some(message),
                Err(fault) => return Err(refused(id, 500, "transform_failed", fault.to_string())),
            };
            if let Some(message) = message {
                return Err(refused(
                    id,
                    400,
                    "invalid_transform_options",
                    format!("invalid options for `{id}`: {message}"),
                ));
            }
        }
        Ok(Entry {
            plugin,
            options: Arc::from(text),
            on_fault: OnFault::Refuse,
        })
    }
}

/// A transform a request asks for: its id and options.
type Asked = (String, Map<String, Value>);

/// The transforms a request's `plugins` and `transforms` fields ask for, with their options
/// (a `plugins` entry's fields other than `id` and `enabled`), in order; the fields are removed.
/// An entry with `"enabled": false` asks for nothing.
fn requested(extra: &mut Map<String, Value>) -> Result<Vec<Asked>, DomainError> {
    let mut asked = Vec::new();
    for field in REQUEST_FIELDS {
        let items = match extra.remove(field) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(items)) => items,
            Some(_) => return Err(malformed(format!("`{field}` must be an array"))),
        };
        for item in items {
            match item {
                Value::String(id) => asked.push((id, Map::new())),
                Value::Object(mut entry) => {
                    let Some(Value::String(id)) = entry.remove("id") else {
                        return Err(malformed(format!(
                            "each entry of `{field}` needs an `id` string"
                        )));
                    };
                    if entry.remove("enabled") == Some(Value::Bool(false)) {
                        continue;
                    }
                    asked.push((id, entry));
                }
                _ => {
                    return Err(malformed(format!(
                        "each entry of `{field}` must be an id or an object with an `id`"
                    )));
                }
            }
        }
    }
    Ok(asked)
}

fn refused(id: &str, status: u16, code: &str, message: String) -> DomainError {
    DomainError::TransformRefused(Box::new(TransformRefusal::new(
        id, "resolve", status, code, message,
    )))
}

fn malformed(message: String) -> DomainError {
    refused("", 400, "invalid_request", message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn extra(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("an object"),
        }
    }

    #[test]
    fn requested_transforms_are_read_in_order_with_their_options_and_the_fields_removed() {
        let mut fields = extra(json!({
            "plugins": [{"id": "file-parser", "pdf": {"engine": "pdf-text"}}, {"id": "pii-redact", "enabled": false}],
            "transforms": ["middle-out"],
            "temperature": 0.5
        }));
        let asked = requested(&mut fields).expect("well-formed");
        let ids: Vec<&str> = asked.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["file-parser", "middle-out"]);
        assert_eq!(
            Value::Object(asked[0].1.clone()),
            json!({"pdf": {"engine": "pdf-text"}})
        );
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["temperature"]);
    }

    #[test]
    fn malformed_entries_are_refused_by_field() {
        for value in [
            json!({"plugins": "web"}),
            json!({"plugins": [{"name": "x"}]}),
            json!({"transforms": [7]}),
        ] {
            let Err(DomainError::TransformRefused(refusal)) = requested(&mut extra(value.clone()))
            else {
                panic!("{value} accepted");
            };
            assert_eq!(
                refusal.status,
                axum::http::StatusCode::BAD_REQUEST,
                "{value}"
            );
        }
    }
}
