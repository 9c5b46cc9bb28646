//! OpenRouter request features Switchyard does not serve yet: the `plugins` other than `web`
//! (PDF parsing, response healing...; see [`plugins::parse`]) and `transforms` (`middle-out`).
//! A request asking for one is refused with a 400 that names it, on every ingress, rather than
//! served without it: a client migrating from OpenRouter would otherwise get different answers
//! and no error. Empty `plugins` and `transforms` lists ask for nothing and are accepted.

use serde_json::{Map, Value};

use super::error::ApiError;
use super::plugins::{self, Plugin};

/// The `code` of the refusal.
pub const CODE: &str = "unsupported_feature";

/// Refuses a request body (any ingress: chat, Responses, Messages) that asks for a feature
/// Switchyard does not serve.
pub fn check(request: &Map<String, Value>) -> Result<(), ApiError> {
    for field in ["plugins", "transforms"] {
        match request.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let names: Vec<String> = items
                    .iter()
                    .filter_map(|item| unserved_name(field, item))
                    .collect();
                if !names.is_empty() {
                    return Err(refusal(format!(
                        "`{field}` is not supported by Switchyard yet (requested: {}); remove it \
                         or send an empty list",
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

/// How an entry of `plugins` (`{"id": "file-parser"}`) or `transforms` (`"middle-out"`) is named
/// in the refusal; `None` for the plugins Switchyard serves ([`plugins::parse`]).
fn unserved_name(field: &str, item: &Value) -> Option<String> {
    if field == "plugins" {
        return match plugins::parse(item) {
            Plugin::Web(_) => None,
            Plugin::Unserved(name) => Some(name),
        };
    }
    Some(match item.as_str() {
        Some(id) => format!("`{id}`"),
        None => format!("an entry of `{field}` that is not a string"),
    })
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
            (
                json!({"plugins": [{"id": "file-parser", "pdf": {}}]}),
                "`file-parser`",
            ),
            (
                json!({"plugins": [{"id": "response-healing"}]}),
                "`response-healing`",
            ),
            (
                json!({"plugins": [{"id": "anything-else"}]}),
                "`anything-else`",
            ),
            (json!({"transforms": ["middle-out"]}), "`middle-out`"),
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
        check_of(json!({"model": "a/b:online", "plugins": [{"id": "web"}]})).expect("accepted");
        let error = check_of(json!({"plugins": "web"})).expect_err("refused");
        assert!(error.message().contains("must be an array"));
    }
}
