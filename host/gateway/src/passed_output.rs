//! An upstream's own Responses API output items ([`RESPONSES_EXTENSION`] on a completion): taken
//! off the completion before any chat client could see it, checked against the SDK's allow-list,
//! and handed to the Responses API egress in the response's extensions, so a Responses client
//! gets the items its Responses upstream wrote (ids, phases, annotations, several messages)
//! instead of items rebuilt from the chat message.

use serde::Deserialize;
use serde_json::{Map, Value};
use switchyard_sdk::responses::{OutputItem, RESPONSES_EXTENSION, ResponsesOutput};

/// The output items a Responses API upstream wrote, all of allowed types (built-in tools' items
/// included: only an endpoint the operator opted into a tool makes them).
#[derive(Debug, Clone, PartialEq)]
pub struct PassedOutput(pub Vec<OutputItem>);

impl PassedOutput {
    /// Removes the extension from `completion`; its items, when there are some and every one is
    /// allowed (otherwise the Responses egress rebuilds them from the chat message).
    pub fn take(completion: &mut Map<String, Value>) -> Option<PassedOutput> {
        let value = completion.remove(RESPONSES_EXTENSION)?;
        match ResponsesOutput::deserialize(value) {
            Ok(passed) if !passed.output.is_empty() => Some(PassedOutput(passed.output)),
            Ok(_) => None,
            Err(error) => {
                tracing::debug!(%error, "output items not passed through; rebuilt from the chat message");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn completion(extension: Value) -> Map<String, Value> {
        let mut completion = Map::new();
        completion.insert("object".to_owned(), json!("chat.completion"));
        completion.insert(RESPONSES_EXTENSION.to_owned(), extension);
        completion
    }

    #[test]
    fn allowed_items_are_taken_off_the_completion() {
        let item = json!({"type": "message", "id": "msg_1", "role": "assistant",
            "content": [{"type": "output_text", "text": "hi", "annotations": []}]});
        let mut object = completion(json!({"output": [item]}));
        let passed = PassedOutput::take(&mut object).unwrap();
        assert_eq!(serde_json::to_value(&passed.0).unwrap(), json!([item]));
        assert!(!object.contains_key(RESPONSES_EXTENSION));
    }

    #[test]
    fn a_built_in_tools_item_passes_whole() {
        let call = json!({"type": "code_interpreter_call", "id": "ci_1", "status": "completed",
            "code": "print(1)", "container_id": "cntr_1", "outputs": [{"type": "logs", "logs": "1"}]});
        let mut object = completion(json!({"output": [call]}));
        let passed = PassedOutput::take(&mut object).unwrap();
        assert_eq!(serde_json::to_value(&passed.0).unwrap(), json!([call]));
    }

    #[test]
    fn a_list_with_a_refused_item_is_dropped_and_still_taken_off() {
        let mut object = completion(json!({"output": [
            {"type": "web_search_call", "id": "ws_1", "status": "completed"}
        ]}));
        assert_eq!(PassedOutput::take(&mut object), None);
        assert!(!object.contains_key(RESPONSES_EXTENSION));
    }
}
