//! Classifies Cohere error responses (`{"id", "message"}`) into typed [`PluginError`]s by HTTP
//! status.

use switchyard_sdk::provider::*;

/// Maps a non-2xx response: 402 (payment required) is an account problem like 401/403;
/// everything else follows [`error_from_status`].
pub fn from_response(response: &HttpResponse) -> PluginError {
    match response.status {
        402 => PluginError::Auth(error_message(&response.body)),
        _ => error_from_status(response),
    }
}
