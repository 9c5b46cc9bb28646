//! OpenRouter request features Switchyard does not serve yet: web search (`plugins: [{"id":
//! "web"}]` and the `:online` model variant). The other `plugins` and `transforms` entries are
//! transforms (see [`crate::transforms`]). A request asking for one is refused with a 400 that names it, on every ingress,
//! rather than served without it: a client migrating from OpenRouter would otherwise get
//! different answers and no error. Empty `plugins` and `transforms` lists ask for nothing and
//! are accepted.

use serde_json::{Map, Value};

use super::error::ApiError;

/// The `code` of the refusal.
pub const CODE: &str = "unsupported_feature";

/// The `plugins` entries that are not transforms: web search.
const NOT_TRANSFORMS: [&str; 1] = ["web"];

/// Refuses a request body (any ingress: chat, Responses, Messages) that asks for a feature
/// Switchyard does not serve. The other entries of `plugins` and `transforms` name transforms,
/// which the gateway resolves (and refuses by name when the operator does not allow them).
pub fn check(request: &Map<String, Value>) -> Result<(), ApiError> {
    for field in ["plugins", "transforms"] {
        match request.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let names: Vec<String> = items
                    .iter()
                    .filter(|item| {
                        (item.get("id").and_then(Value::as_str))
                            .is_some_and(|id| NOT_TRANSFORMS.contains(&id))
                    })
                    .map(|item| feature_name(field, item))
                    .collect();
                if !names.is_empty() {
                    return Err(refusal(format!(
                        "`{field}` asks for a feature Switchyard does not serve yet (requested: \
                         {}); remove it",
                        names.join(", ")
                    )));
                }
            }
            Some(_) => {
                return Err(ApiError::invalid_request(format!(
                    "`{field}` must be an array"
                )));
            }
        }
    }
    let models = request
        .get("models")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let online = request
        .get("model")
        .into_iter()
        .chain(models)
        .filter_map(Value::as_str)
        .find(|model| model.ends_with(":online"));
    if let Some(model) = online {
        return Err(refusal(format!(
            "the `:online` model variant (web search) is not supported by Switchyard yet: \
             `{model}`; request the model without the suffix"
        )));
    }
    Ok(())
}

/// How an entry of `plugins` (`{"id": "web"}`) or `transforms` (`"middle-out"`) is named in the
/// refusal.
fn feature_name(field: &str, item: &Value) -> String {
    let id = match item {
        Value::String(id) => Some(id.as_str()),
        Value::Object(plugin) => plugin.get("id").and_then(Value::as_str),
        _ => None,
    };
    match id {
        Some(id) => format!("`{id}`"),
        None => format!("an entry of `{field}` without an id"),
    }
}

fn refusal(message: String) -> ApiError {
    ApiError::invalid_request(message).with_code(CODE)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check_of(request: Value) -> Result<(), ApiError> {
        match request {
            Value::Object(object) => check(&object),
            _ => panic!("an object"),
        }
    }

    #[test]
    fn requested_features_are_refused_by_name() {
        for (request, named) in [
            (json!({"plugins": [{"id": "web"}]}), "`web`"),
            (json!({"model": "a/b:online"}), "`:online`"),
            (
                json!({"model": "a/b", "models": ["c/d:online"]}),
                "c/d:online",
            ),
        ] {
            let error = check_of(request.clone()).expect_err("refused");
            assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST);
            assert!(
                error.message().contains(named),
                "{request}: {}",
                error.message()
            );
            assert_eq!(error.body()["error"]["code"], CODE);
        }
    }

    #[test]
    fn empty_lists_and_plain_models_are_accepted() {
        check_of(json!({"model": "a/b:floor", "plugins": [], "transforms": []})).expect("accepted");
        check_of(json!({"model": "a/b", "plugins": null})).expect("accepted");
        // Transforms are resolved (and refused by name) by the gateway.
        check_of(json!({"plugins": [{"id": "response-healing"}], "transforms": ["middle-out"]}))
            .expect("accepted");
        let error = check_of(json!({"plugins": "web"})).expect_err("refused");
        assert!(error.message().contains("must be an array"));
    }
}
