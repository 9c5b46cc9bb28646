//! The `response-healing` transform: repairs the JSON of an answer to a `response_format`
//! request (`json_object` or `json_schema`) — code fences, text around the JSON, trailing
//! commas, unclosed strings, arrays and objects — and checks it against the request's schema
//! when one was given. An answer it cannot make valid is refused with a 502 naming what is
//! wrong, rather than handed to a client that asked for JSON. A streamed answer is repaired as
//! it streams, and a cut one completed in its last chunk (see [`stream`]); one it cannot make
//! valid ends with the refusal.

pub mod repair;
pub mod schema;
pub mod stream;

use serde::Deserialize;
use serde_json::Value;
use switchyard_sdk::transform::{
    Descriptor, Hooks, Outcome, Transform, descriptor, modify, pass, refuse,
};

/// The code of a refusal.
pub const CODE: &str = "invalid_json_answer";

/// No options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {}

/// The transform.
pub struct ResponseHealing;

/// What the request asked for: JSON, and maybe a schema.
fn wanted(request: &Value) -> Option<Option<&Value>> {
    let format = request.get("response_format")?;
    match format["type"].as_str()? {
        "json_object" => Some(None),
        "json_schema" => Some(format["json_schema"].get("schema")),
        _ => None,
    }
}

impl Transform for ResponseHealing {
    type Options = Options;

    fn describe() -> Descriptor {
        descriptor(
            "response-healing",
            env!("CARGO_PKG_VERSION"),
            Hooks::REQUEST | Hooks::RESPONSE | Hooks::CHUNK,
        )
    }

    /// Notes in the state whether the request asked for JSON, for `on_chunk`.
    fn on_request(_options: &Options, request: Vec<u8>, state: Vec<u8>) -> Outcome {
        let Ok(request) = serde_json::from_slice::<Value>(&request) else {
            return pass(state);
        };
        match wanted(&request) {
            Some(schema) => pass(stream::start(schema)),
            None => pass(state),
        }
    }

    fn on_chunk(_options: &Options, chunk: Vec<u8>, state: Vec<u8>) -> Outcome {
        match stream::chunk(&chunk, state) {
            (stream::Healed::Same, state) => pass(state),
            (stream::Healed::Changed(bytes), state) => modify(bytes, state),
            (stream::Healed::Impossible(reason), _) => refuse(502, CODE, unrepairable(&reason)),
        }
    }

    fn on_response(
        _options: &Options,
        request: Vec<u8>,
        response: Vec<u8>,
        state: Vec<u8>,
    ) -> Outcome {
        let Ok(request) = serde_json::from_slice::<Value>(&request) else {
            return pass(state);
        };
        let Some(schema) = wanted(&request) else {
            return pass(state);
        };
        let Ok(mut answer) = serde_json::from_slice::<Value>(&response) else {
            return pass(state);
        };
        let mut changed = false;
        let Some(choices) = answer.get_mut("choices").and_then(Value::as_array_mut) else {
            return pass(state);
        };
        for choice in choices {
            // A tool call or a refusal is not a JSON answer.
            let Some(content) = choice["message"]["content"].as_str() else {
                continue;
            };
            let healed = match heal(content, schema) {
                Ok(healed) => healed,
                Err(reason) => return refuse(502, CODE, unrepairable(&reason)),
            };
            if let Some(healed) = healed {
                choice["message"]["content"] = Value::String(healed);
                changed = true;
            }
        }
        match changed {
            true => modify(serde_json::to_vec(&answer).unwrap_or(response), state),
            false => pass(state),
        }
    }
}

/// The message of a refusal for an answer that cannot be repaired.
fn unrepairable(reason: &str) -> String {
    format!(
        "the model's answer is not the JSON the request asked for, and cannot be repaired: {reason}"
    )
}

/// The repaired JSON text of `content` (`None` when it was valid already), or why it cannot be
/// made valid.
pub fn heal(content: &str, schema: Option<&Value>) -> Result<Option<String>, String> {
    let (value, repaired) = match serde_json::from_str::<Value>(content) {
        Ok(value) => (value, false),
        Err(_) => {
            let fixed = repair::repair(content).ok_or("no JSON value in it")?;
            let value = serde_json::from_str::<Value>(&fixed)
                .map_err(|error| format!("still not JSON after repair: {error}"))?;
            (value, true)
        }
    };
    if let Some(schema) = schema {
        schema::validate(schema, &value, "$")?;
    }
    Ok(repaired.then(|| value.to_string()))
}

switchyard_sdk::export_transform!(ResponseHealing);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::transform::Verdict;

    const REQUEST: &[u8] = include_bytes!("../tests/fixtures/request-schema.json");

    fn answer(content: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
        }))
        .expect("json")
    }

    fn run(content: &str) -> Outcome {
        ResponseHealing::on_response(&Options {}, REQUEST.to_vec(), answer(content), Vec::new())
    }

    #[test]
    fn broken_answers_are_repaired_and_checked() {
        let broken = include_str!("../tests/fixtures/answer-broken.txt");
        let outcome = run(broken);
        let Verdict::Modify(bytes) = outcome.verdict else {
            panic!("not healed: {:?}", outcome.verdict);
        };
        let healed: Value = serde_json::from_slice(&bytes).expect("json");
        let content: Value = serde_json::from_str(
            healed["choices"][0]["message"]["content"]
                .as_str()
                .expect("text"),
        )
        .expect("healed JSON");
        assert_eq!(content["city"], "San Francisco");
        assert_eq!(content["tags"], serde_json::json!(["fog", "hills"]));
        assert!(matches!(
            run(r#"{"city": "Paris", "temperature_c": 12}"#).verdict,
            Verdict::Pass
        ));
    }

    #[test]
    fn impossible_or_off_schema_answers_are_refused() {
        for (content, reason) in [
            ("I cannot answer that.", "no JSON"),
            (r#"{"city": "Paris"}"#, "temperature_c"),
            (r#"{"city": 7, "temperature_c": 1}"#, "$.city"),
        ] {
            let Verdict::Refuse(refusal) = run(content).verdict else {
                panic!("{content} passed");
            };
            assert_eq!(refusal.status, 502);
            assert!(
                refusal.message.contains(reason),
                "{content}: {}",
                refusal.message
            );
        }
    }

    #[test]
    fn requests_without_a_json_format_pass() {
        let plain = br#"{"model":"m","messages":[]}"#;
        let outcome =
            ResponseHealing::on_response(&Options {}, plain.to_vec(), answer("{oops"), Vec::new());
        assert!(matches!(outcome.verdict, Verdict::Pass));
    }

    /// The chunks of a stream whose contents are `pieces`, the last with `finish_reason`.
    fn chunks(pieces: &[&str], finish_reason: &str) -> Vec<Vec<u8>> {
        let chunk = |delta: Value, finish: Value| {
            serde_json::to_vec(
                &serde_json::json!({"id": "x", "object": "chat.completion.chunk",
                "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
            )
            .expect("json")
        };
        let mut chunks: Vec<Vec<u8>> = pieces
            .iter()
            .map(|piece| chunk(serde_json::json!({"content": piece}), Value::Null))
            .collect();
        chunks.push(chunk(serde_json::json!({}), Value::from(finish_reason)));
        chunks
    }

    /// Streams `chunks` through the transform for `request`: the content the client gets, or
    /// the refusal's message.
    fn stream(request: &[u8], chunks: Vec<Vec<u8>>) -> Result<String, String> {
        let options = Options {};
        let mut state = ResponseHealing::on_request(&options, request.to_vec(), Vec::new()).state;
        let mut content = String::new();
        for chunk in chunks {
            let outcome = ResponseHealing::on_chunk(&options, chunk.clone(), state);
            let sent = match outcome.verdict {
                Verdict::Pass => chunk,
                Verdict::Modify(bytes) => bytes,
                Verdict::Refuse(refusal) => return Err(refusal.message),
            };
            state = outcome.state;
            let sent: Value = serde_json::from_slice(&sent).expect("json");
            content.push_str(
                sent["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap_or(""),
            );
        }
        Ok(content)
    }

    #[test]
    fn a_streamed_broken_or_cut_answer_is_healed_as_it_streams() {
        let broken = [
            "Here:\n```json\n{\"city\": ",
            "\"Paris\", \"temperature_c\": 12,",
            "\n}\n```",
        ];
        let healed = stream(REQUEST, chunks(&broken, "stop")).expect("healed");
        assert_eq!(healed, r#"{"city": "Paris", "temperature_c": 12}"#);
        let cut = [
            "{\"city\": \"Paris\", \"temperature_c\": 12, \"tags\": [\"sun",
            "ny\", \"wa",
        ];
        let healed = stream(REQUEST, chunks(&cut, "length")).expect("healed");
        assert_eq!(
            serde_json::from_str::<Value>(&healed).expect("JSON"),
            serde_json::json!({"city": "Paris", "temperature_c": 12, "tags": ["sunny", "wa"]})
        );
    }

    #[test]
    fn a_streamed_answer_off_its_schema_or_without_json_ends_refused() {
        for (pieces, reason) in [
            (vec!["{\"city\": \"Par", "is\"}"], "temperature_c"),
            (vec!["I cannot", " answer that."], "no JSON"),
        ] {
            let refused = stream(REQUEST, chunks(&pieces, "stop")).expect_err("refused");
            assert!(refused.contains(reason), "{refused}");
        }
    }

    #[test]
    fn streams_without_a_json_format_or_of_tool_calls_pass() {
        let plain = br#"{"model":"m","messages":[]}"#;
        assert_eq!(
            stream(plain, chunks(&["{oops"], "stop")).as_deref(),
            Ok("{oops")
        );
        // An answer that only calls tools has no content to heal.
        assert_eq!(
            stream(REQUEST, chunks(&[""], "tool_calls")).as_deref(),
            Ok("")
        );
    }

    #[test]
    fn the_conformance_cases_pass() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
        let report =
            switchyard_sdk::transform::testing::run_cases::<ResponseHealing>(dir).expect("cases");
        assert!(report.passed(), "{}", report.table());
    }
}
