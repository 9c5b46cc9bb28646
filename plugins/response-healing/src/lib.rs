//! The `response-healing` transform: repairs the JSON of an answer to a `response_format`
//! request (`json_object` or `json_schema`) — code fences, text around the JSON, trailing
//! commas, unclosed strings, arrays and objects — and checks it against the request's schema
//! when one was given. An answer it cannot make valid is refused with a 502 naming what is
//! wrong, rather than handed to a client that asked for JSON. Whole answers only: a streamed
//! answer passes unchanged.

pub mod repair;
pub mod schema;

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
            Hooks::RESPONSE,
        )
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
                Err(reason) => {
                    return refuse(
                        502,
                        CODE,
                        format!(
                            "the model's answer is not the JSON the request asked for, and cannot be repaired: {reason}"
                        ),
                    );
                }
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

    #[test]
    fn the_conformance_cases_pass() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
        let report =
            switchyard_sdk::transform::testing::run_cases::<ResponseHealing>(dir).expect("cases");
        assert!(report.passed(), "{}", report.table());
    }
}
