//! OpenRouter's request `plugins` list and `:online` model variant. [`parse`] names the plugin
//! an entry asks for (the one place plugin ids are read); [`web_search`] rewrites a request that
//! asks for web search (`{"id": "web"}`, `:online`) into the canonical `web_search_options`,
//! which routing sends only to endpoints whose upstream searches itself, at a known price.

use serde_json::{Map, Value};
use switchyard_sdk::web_search;

use super::error::ApiError;

/// The model id suffix asking for web search.
pub const ONLINE: &str = ":online";

/// One entry of `plugins`.
#[derive(Debug, Clone, PartialEq)]
pub enum Plugin<'a> {
    /// `{"id": "web", ...}`: web search, with the entry's other fields.
    Web(&'a Map<String, Value>),
    /// A plugin Switchyard does not serve, named for the refusal (its id in backquotes, or what
    /// the entry lacks).
    Unserved(String),
}

/// The plugin an entry of `plugins` asks for.
pub fn parse(entry: &Value) -> Plugin<'_> {
    let Value::Object(fields) = entry else {
        return Plugin::Unserved("an entry of `plugins` that is not an object".to_owned());
    };
    match fields.get("id").and_then(Value::as_str) {
        Some("web") => Plugin::Web(fields),
        Some(id) => Plugin::Unserved(format!("`{id}`")),
        None => Plugin::Unserved("an entry of `plugins` without an id".to_owned()),
    }
}

/// Fields of the `web` plugin that only OpenRouter's Exa engine reads: Switchyard searches with
/// the upstream's own engine only, so they are refused by name rather than ignored.
const EXA_ONLY: [&str; 2] = ["max_results", "search_prompt"];

/// Rewrites `request` when it asks for web search: the `:online` suffix comes off `model` and
/// `models`, the `web` entries off `plugins`, and `web_search_options` (OpenAI's field, kept
/// when the client sent it) is set. Returns whether it rewrote anything.
pub fn web_search(request: &mut Map<String, Value>) -> Result<bool, ApiError> {
    let mut wanted = false;
    if let Some(Value::String(model)) = request.get_mut("model")
        && let Some(base) = model.strip_suffix(ONLINE)
    {
        *model = base.to_owned();
        wanted = true;
    }
    if let Some(Value::Array(models)) = request.get_mut("models") {
        for model in models.iter_mut() {
            if let Value::String(id) = model
                && let Some(base) = id.strip_suffix(ONLINE)
            {
                *id = base.to_owned();
                wanted = true;
            }
        }
    }
    if let Some(Value::Array(plugins)) = request.get("plugins") {
        for plugin in plugins {
            if let Plugin::Web(fields) = parse(plugin) {
                check_web(fields)?;
                wanted = true;
            }
        }
    }
    if let Some(Value::Array(plugins)) = request.get_mut("plugins") {
        plugins.retain(|plugin| !matches!(parse(plugin), Plugin::Web(_)));
        if plugins.is_empty() {
            request.remove("plugins");
        }
    }
    if wanted && request.get(web_search::OPTIONS).is_none_or(Value::is_null) {
        request.insert(web_search::OPTIONS.to_owned(), Value::Object(Map::new()));
    }
    if let Some(Value::Object(options)) = request.get(web_search::OPTIONS) {
        web_search::check_options(options).map_err(|reason| {
            ApiError::invalid_request(format!("{}: {reason}", web_search::OPTIONS))
        })?;
    }
    Ok(wanted)
}

/// Refuses the `web` plugin's options that Switchyard cannot honour.
fn check_web(fields: &Map<String, Value>) -> Result<(), ApiError> {
    match fields.get("engine") {
        None | Some(Value::Null) => {}
        Some(Value::String(engine)) if engine == "native" => {}
        Some(engine) => {
            return Err(ApiError::unsupported_feature(format!(
                "the `web` plugin's engine {engine} is not available: Switchyard searches with \
                 the upstream's own engine only (`\"engine\": \"native\"`)"
            )));
        }
    }
    if let Some(field) = EXA_ONLY
        .iter()
        .find(|field| fields.get(**field).is_some_and(|value| !value.is_null()))
    {
        return Err(ApiError::unsupported_feature(format!(
            "the `web` plugin's `{field}` applies to OpenRouter's Exa engine, which Switchyard \
             does not have (it searches with the upstream's own engine); remove it"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rewritten(request: Value) -> (Result<bool, ApiError>, Value) {
        let mut object = request.as_object().cloned().unwrap_or_default();
        let result = web_search(&mut object);
        (result, Value::Object(object))
    }

    #[test]
    fn online_and_the_web_plugin_become_web_search_options() {
        let (wanted, request) = rewritten(json!({"model": "a/b:online", "models": ["c/d:online"]}));
        assert!(wanted.expect("accepted"));
        assert_eq!(
            request,
            json!({"model": "a/b", "models": ["c/d"], "web_search_options": {}})
        );
        let (wanted, request) = rewritten(json!({"model": "a/b",
            "plugins": [{"id": "web", "engine": "native"}, {"id": "other"}],
            "web_search_options": {"search_context_size": "high"}}));
        assert!(wanted.expect("accepted"));
        assert_eq!(
            request,
            json!({"model": "a/b", "plugins": [{"id": "other"}],
                "web_search_options": {"search_context_size": "high"}})
        );
        let (wanted, request) = rewritten(json!({"model": "a/b:floor", "plugins": []}));
        assert!(!wanted.expect("accepted"));
        assert_eq!(request, json!({"model": "a/b:floor"}));
    }

    #[test]
    fn exa_options_are_refused_by_name() {
        for (plugin, named) in [
            (json!({"id": "web", "engine": "exa"}), "exa"),
            (json!({"id": "web", "max_results": 3}), "`max_results`"),
            (
                json!({"id": "web", "search_prompt": "x"}),
                "`search_prompt`",
            ),
        ] {
            let (result, _) = rewritten(json!({"model": "a/b", "plugins": [plugin]}));
            let error = result.expect_err("refused");
            assert!(error.message().contains(named), "{}", error.message());
        }
    }

    #[test]
    fn entries_are_named_by_id() {
        assert!(matches!(parse(&json!({"id": "web"})), Plugin::Web(_)));
        assert_eq!(
            parse(&json!({"id": "pii"})),
            Plugin::Unserved("`pii`".to_owned())
        );
        assert!(matches!(parse(&json!("web")), Plugin::Unserved(_)));
    }
}
