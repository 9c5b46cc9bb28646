//! The trust boundary for what a provider adapter returns: every completion and chunk is parsed
//! once by the host and checked against the canonical types (`switchyard_sdk::openai`) before a
//! client may see it. A malformed one is the plugin's fault, never the client's problem.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use switchyard_sdk::openai::{ChatChunk, ChatCompletion};

use switchyard_domain::plugin_types::{Finish, ParsedResponse, StreamOutput, Usage};

/// A JSON object a plugin returned, checked to be a canonical completion or chunk. Unknown
/// fields the plugin passed through (`logprobs`, `system_fingerprint`...) are kept.
pub type CheckedObject = Map<String, Value>;

/// A `parse-response` result whose body is a checked `chat.completion`.
#[derive(Debug, Clone)]
pub struct CheckedResponse {
    /// The completion, to be stamped with the host's fields.
    pub body: CheckedObject,
    /// Native usage.
    pub usage: Option<Usage>,
    /// Finish reason.
    pub finish: Option<Finish>,
    /// The size of the body as the plugin returned it, in bytes: the answer's buffer is sized
    /// from it.
    pub size: usize,
}

/// A `decode` result whose chunks are checked `chat.completion.chunk`s.
#[derive(Debug, Clone, Default)]
pub struct CheckedStreamOutput {
    /// The chunks, to be stamped with the host's fields.
    pub chunks: Vec<CheckedObject>,
    /// Cumulative usage, when known.
    pub usage: Option<Usage>,
    /// Finish reason, when this event carried it.
    pub finish: Option<Finish>,
    /// The terminal event arrived.
    pub done: bool,
}

/// Checks a `parse-response` body; the error says what is wrong with it.
pub(crate) fn check_response(parsed: ParsedResponse) -> Result<CheckedResponse, String> {
    Ok(CheckedResponse {
        body: checked::<ChatCompletion>(&parsed.body, "chat.completion")?,
        usage: parsed.usage,
        finish: parsed.finish,
        size: parsed.body.len(),
    })
}

/// Checks every chunk of a `decode` output; the error says what is wrong with the first bad one.
pub(crate) fn check_stream_output(output: StreamOutput) -> Result<CheckedStreamOutput, String> {
    let chunks = output
        .chunks
        .iter()
        .map(|chunk| checked::<ChatChunk>(chunk, "chat.completion.chunk"))
        .collect::<Result<_, _>>()?;
    Ok(CheckedStreamOutput {
        chunks,
        usage: output.usage,
        finish: output.finish,
        done: output.done,
    })
}

/// The canonical embeddings list an adapter must return: `data` items with an `embedding`.
#[derive(serde::Deserialize)]
struct EmbeddingsList {
    #[serde(rename = "data")]
    _data: Vec<EmbeddingItem>,
}

/// One item of an [`EmbeddingsList`].
#[derive(serde::Deserialize)]
struct EmbeddingItem {
    #[serde(rename = "embedding")]
    _embedding: Value,
}

/// Checks an adapter's embeddings body: a JSON object with a `data` list of embeddings.
pub fn check_embeddings(body: &[u8]) -> Result<CheckedObject, String> {
    checked::<EmbeddingsList>(body, "embeddings list")
}

/// Parses `bytes` as a JSON object that reads as a `T`.
fn checked<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<CheckedObject, String> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|error| format!("returned a {what} that is not JSON: {error}"))?;
    if let Err(error) = T::deserialize(&value) {
        return Err(format!("returned a malformed {what}: {error}"));
    }
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(format!("returned a {what} that is not a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(json: &str) -> StreamOutput {
        StreamOutput {
            chunks: vec![json.as_bytes().to_vec()],
            ..StreamOutput::default()
        }
    }

    #[test]
    fn a_well_formed_chunk_passes_with_its_unknown_fields() {
        let output = check_stream_output(chunk(
            r#"{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null,"logprobs":null}],"system_fingerprint":"fp"}"#,
        ));
        let chunks = output.map(|output| output.chunks).unwrap_or_default();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0]["system_fingerprint"], "fp");
        assert!(chunks[0]["choices"][0].get("logprobs").is_some());
    }

    #[test]
    fn malformed_output_is_refused_with_the_reason() {
        for (json, reason) in [
            ("not json", "not JSON"),
            ("[1]", "malformed chat.completion.chunk"),
            (
                r#"{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":7},"finish_reason":null}]}"#,
                "invalid type: integer `7`, expected a string",
            ),
            (
                r#"{"id":"x","object":"chat.completion.chunk","created":1,"model":"m"}"#,
                "missing field `choices`",
            ),
        ] {
            match check_stream_output(chunk(json)) {
                Ok(_) => panic!("{json} should be refused"),
                Err(error) => assert!(error.contains(reason), "{json}: {error}"),
            }
        }
    }

    #[test]
    fn a_completion_without_choices_is_refused() {
        let parsed = ParsedResponse {
            body: br#"{"id":"x","object":"chat.completion","created":1,"model":"m"}"#.to_vec(),
            usage: None,
            finish: None,
        };
        match check_response(parsed) {
            Ok(_) => panic!("should be refused"),
            Err(error) => assert!(error.contains("missing field `choices`"), "{error}"),
        }
    }
}
