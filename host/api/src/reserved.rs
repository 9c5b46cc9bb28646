//! What a client may not send on the chat route: Switchyard's Anthropic extension
//! ([`ANTHROPIC_EXTENSION`]), which only the Messages ingress writes from checked blocks (a
//! client's own would reach an Anthropic upstream unchecked and unheld), and references to
//! files in the operator's upstream account (`file_id`), which would read them with the
//! operator's credentials.

use switchyard_sdk::openai::{ANTHROPIC_EXTENSION, ChatRequest, Content};

use super::error::ApiError;

/// Refuses `request` (400, naming the field) when it carries what only Switchyard may send.
pub fn refuse_reserved(request: &ChatRequest) -> Result<(), ApiError> {
    if request.extra.contains_key(ANTHROPIC_EXTENSION) {
        return Err(ApiError::invalid_request(format!(
            "`{ANTHROPIC_EXTENSION}` is reserved for Switchyard's Anthropic Messages API: send \
             Messages requests to `POST /v1/messages`"
        ))
        .with_code("unsupported_parameter"));
    }
    for (index, message) in request.messages.iter().enumerate() {
        let Some(Content::Parts(parts)) = &message.content else {
            continue;
        };
        for (part_index, part) in parts.iter().enumerate() {
            let file_id = part
                .extra
                .get("file")
                .and_then(|file| file.get("file_id"))
                .is_some_and(|id| !id.is_null());
            if file_id {
                return Err(ApiError::invalid_request(format!(
                    "`messages[{index}].content[{part_index}].file.file_id`: files stored with \
                     the upstream provider are not accepted; send the file's data in \
                     `file_data`"
                ))
                .with_code("unsupported_parameter"));
            }
        }
    }
    Ok(())
}
