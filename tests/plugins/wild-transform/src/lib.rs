//! A hostile transform for tests: the last user message says what it does. `panic` panics,
//! `spin` loops forever, `grow` grows its memory without bound; anything else passes. It tags
//! every other request it passes with `"wild": true` in `metadata`, so a test sees it ran.

use serde::Deserialize;
use serde_json::Value;
use switchyard_sdk::transform::{Descriptor, Hooks, Outcome, Transform, descriptor, modify, pass};

/// No options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {}

/// The transform.
pub struct Wild;

impl Transform for Wild {
    type Options = Options;

    fn describe() -> Descriptor {
        descriptor("wild", "0.1.0", Hooks::REQUEST)
    }

    fn on_request(_options: &Options, request: Vec<u8>, state: Vec<u8>) -> Outcome {
        let Ok(mut value) = serde_json::from_slice::<Value>(&request) else {
            return pass(state);
        };
        let order = value["messages"]
            .as_array()
            .and_then(|messages| messages.last())
            .and_then(|message| message["content"].as_str())
            .unwrap_or_default()
            .to_owned();
        match order.as_str() {
            "panic" => panic!("the wild transform panics on request"),
            "spin" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "grow" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![7; 1024 * 1024]);
                    std::hint::black_box(&hoard);
                }
            }
            _ => {
                value["metadata"] = serde_json::json!({ "wild": "true" });
                modify(serde_json::to_vec(&value).unwrap_or(request), state)
            }
        }
    }
}

switchyard_sdk::export_transform!(Wild);
