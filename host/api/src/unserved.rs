//! The shape of OpenRouter's request features, checked on every ingress before anything reads
//! them: `plugins` is a list of objects with an `id`, `transforms` a list of ids. What they ask
//! for is served elsewhere: `web` by [`plugins::web_search`], every other id is a transform the
//! gateway resolves ([`switchyard_gateway::transforms`]) and refuses by name when the operator does not allow
//! it. A malformed entry is refused with a 400 that names it, rather than skipped: a client
//! migrating from OpenRouter would otherwise get different answers and no error. Empty lists
//! ask for nothing and are accepted.

use serde_json::{Map, Value};

use super::error::ApiError;
use super::plugins::{self, Plugin};

/// Refuses a request body (any ingress: chat, Responses, Messages) whose `plugins` or
/// `transforms` are not the lists they must be.
pub fn check(request: &Map<String, Value>) -> Result<(), ApiError> {
    for field in ["plugins", "transforms"] {
        match request.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let names: Vec<String> = items
                    .iter()
                    .filter_map(|item| malformed(field, item))
                    .collect();
                if !names.is_empty() {
                    return Err(ApiError::unsupported_feature(format!(
                        "`{field}` has entries Switchyard cannot read ({}); send objects with an \
                         `id` in `plugins` and ids in `transforms`",
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
    Ok(())
}

/// How a malformed entry of `plugins` (an object with an `id`) or `transforms` (a string) is
/// named in the refusal; `None` for a well-formed one.
fn malformed(field: &str, item: &Value) -> Option<String> {
    if field == "plugins" {
        return match plugins::parse(item) {
            Plugin::Web(_) => None,
            Plugin::Unserved(_) if item.get("id").is_some_and(Value::is_string) => None,
            Plugin::Unserved(name) => Some(name),
        };
    }
    match item {
        Value::String(_) => None,
        _ => Some(format!("an entry of `{field}` that is not a string")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::UNSUPPORTED_FEATURE;

    fn check_of(request: Value) -> Result<(), ApiError> {
        match request {
            Value::Object(object) => check(&object),
            _ => panic!("an object"),
        }
    }

    #[test]
    fn malformed_entries_are_refused_by_name() {
        for (request, named) in [
            (json!({"plugins": ["web"]}), "not an object"),
            (json!({"plugins": [{"engine": "exa"}]}), "without an id"),
            (
                json!({"transforms": [{"id": "middle-out"}]}),
                "not a string",
            ),
        ] {
            let error = check_of(request.clone()).expect_err("refused");
            assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST);
            assert!(
                error.message().contains(named),
                "{request}: {}",
                error.message()
            );
            assert_eq!(error.body()["error"]["code"], UNSUPPORTED_FEATURE);
        }
    }

    #[test]
    fn well_formed_requests_are_accepted() {
        check_of(json!({"model": "a/b:floor", "plugins": [], "transforms": []})).expect("accepted");
        check_of(json!({"model": "a/b", "plugins": null})).expect("accepted");
        check_of(json!({"model": "a/b:online", "plugins": [{"id": "web"}]})).expect("accepted");
        // Transforms are resolved (and refused by name) by the gateway.
        check_of(json!({"plugins": [{"id": "response-healing"}], "transforms": ["middle-out"]}))
            .expect("accepted");
        let error = check_of(json!({"plugins": "web"})).expect_err("refused");
        assert!(error.message().contains("must be an array"));
    }
}
