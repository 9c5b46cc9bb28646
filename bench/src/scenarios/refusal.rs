//! CPU per refused request: a chat and an embeddings request whose `models` lists 40,000 ids
//! (the CPU bomb of an uncapped list), which the gateway refuses (400), against nginx's CPU per
//! request forwarding the same body to the mock (a bare hop reads and passes the whole body on).
//! Rows join the CPU-per-request table; the `÷ nginx` column compares each refusal with
//! nginx's forwarding of the same body.

use crate::contenders::models;
use crate::load::Payload;
use crate::results::CpuRow;
use crate::scenarios::Plan;
use crate::scenarios::cpu::{Metered, measure};

/// Ids in the refused requests' `models`.
pub const MODELS: usize = 40_000;

/// The refused requests: their row label and payload.
fn payloads() -> [(String, Payload); 2] {
    let ids: Vec<String> = (0..MODELS).map(|n| format!("bench/model-{n}")).collect();
    let chat = serde_json::json!({
        "model": models::PLAIN,
        "models": ids,
        "messages": [{"role": "user", "content": "Hello!"}],
    });
    let embeddings = serde_json::json!({
        "model": models::PLAIN,
        "models": ids,
        "input": "Hello!",
    });
    [
        (
            format!("{MODELS} `models`, chat, refused"),
            Payload::refused(chat.to_string().into_bytes(), "/v1/chat/completions"),
        ),
        (
            format!("{MODELS} `models`, embeddings, refused"),
            Payload::refused(embeddings.to_string().into_bytes(), "/v1/embeddings"),
        ),
    ]
}

/// Measures `nginx` forwarding each body (when it runs) and every gateway in `gateways`
/// refusing it, in the same rounds, as rows of the CPU-per-request table.
pub async fn run(nginx: Option<&Metered>, gateways: &[Metered], plan: &Plan) -> Vec<CpuRow> {
    let mut rows = Vec::new();
    for (label, refused) in payloads() {
        let forwarded = refused.forwarded();
        let mut contenders: Vec<(&Metered, &Payload)> = Vec::new();
        if let Some(nginx) = nginx {
            contenders.push((nginx, &forwarded));
        }
        contenders.extend(gateways.iter().map(|gateway| (gateway, &refused)));
        rows.extend(measure(&label, &contenders, plan).await);
    }
    rows
}
