//! Citations through the Anthropic adapter: documents (with `citations`, `title`, `context`,
//! `cache_control`) and search results sent as the client wrote them, and cited text blocks
//! answered as the canonical `text_citations`, whole and streamed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_plugin_anthropic::Anthropic;
use switchyard_sdk::provider::*;

const FIXTURE: &str = "../synthetic/anthropic-citations";

fn citations(path: &str) -> Vec<Value> {
    let raw: Value = serde_json::from_slice(&fixture(&format!("{FIXTURE}.json"))).unwrap();
    raw.pointer(path).unwrap().as_array().unwrap().clone()
}

#[test]
fn documents_and_search_results_reach_the_upstream_as_the_client_wrote_them() {
    let pdf = json!({"type": "document", "title": "Report", "context": "Q3, audited",
        "citations": {"enabled": true}, "cache_control": {"type": "ephemeral"}});
    let text = json!({"type": "document", "title": "Colors", "citations": {"enabled": true}});
    let url = json!({"type": "document", "citations": {"enabled": true}});
    let search = json!({"type": "search_result", "source": "https://example.com/sky",
        "title": "Sky", "content": [{"type": "text", "text": "The sky is blue."}],
        "citations": {"enabled": true}});
    let cited = json!({"type": "text", "text": "the sky is blue", "citations": citations("/content/3/citations")});
    let request = json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": "Cite."},
            {"role": "user", "content": [
                {"type": "file", "file": {"filename": "Report", "file_data": "data:application/pdf;base64,JVBERi0="}},
                {"type": "text", "text": "The grass is green. The sky is blue."},
                {"type": "file", "file": {"filename": "document.pdf", "file_data": "https://example.com/b.pdf"}},
                {"type": "text", "text": "Sky (https://example.com/sky)\nThe sky is blue."},
                {"type": "text", "text": "What colour is the sky?"}
            ]},
            {"role": "assistant", "content": [{"type": "text", "text": "the sky is blue"}]},
            {"role": "user", "content": "Thanks"}
        ],
        "anthropic": {"blocks": [
            {"message": 1, "part": 0, "block": pdf},
            {"message": 1, "part": 1, "block": text},
            {"message": 1, "part": 2, "block": url},
            {"message": 1, "part": 3, "block": search},
            {"message": 2, "part": 0, "block": cited},
        ]}
    });
    let request: ChatRequest = serde_json::from_value(request).unwrap();
    let built = <Anthropic as Provider>::build_request(request, endpoint(), false).unwrap();
    let body: Value = serde_json::from_slice(&built.body).unwrap();
    let with = |block: &Value, source: Value| {
        let mut block = block.clone();
        block["source"] = source;
        block
    };
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            with(&pdf, json!({"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="})),
            with(&text, json!({"type": "text", "media_type": "text/plain", "data": "The grass is green. The sky is blue."})),
            with(&url, json!({"type": "url", "url": "https://example.com/b.pdf"})),
            search,
            {"type": "text", "text": "What colour is the sky?"},
        ])
    );
    assert_eq!(body["messages"][1]["content"], json!([cited]));
    assert_eq!(body["system"], "Cite.");
}

#[test]
fn a_document_cannot_stand_for_an_image() {
    let request = json!({
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}],
        "anthropic": {"blocks": [{"message": 0, "part": 0, "block": {"type": "document"}}]}
    });
    let request: ChatRequest = serde_json::from_value(request).unwrap();
    assert!(matches!(
        <Anthropic as Provider>::build_request(request, endpoint(), false),
        Err(PluginError::InvalidRequest(m)) if m.contains("image_url")
    ));
}

#[test]
fn cited_text_blocks_answer_as_text_citations_with_character_offsets() {
    let parsed = parse_ok(&fixture(&format!("{FIXTURE}.json"))).unwrap();
    let message = &body(&parsed)["choices"][0]["message"];
    assert_eq!(
        message["content"],
        "According to the documents — the grass is green and the sky is blue."
    );
    // Offsets count characters: the em dash is one, not three bytes.
    assert_eq!(
        message["text_citations"],
        json!([
            {"start": 29, "end": 47, "citations": citations("/content/1/citations")},
            {"start": 52, "end": 67, "citations": citations("/content/3/citations")},
        ])
    );
    let plain = parse_ok(&fixture("anthropic-text.json")).unwrap();
    assert!(
        body(&plain)["choices"][0]["message"]
            .get("text_citations")
            .is_none()
    );
}

#[test]
fn streamed_citations_open_fill_and_close_their_block_in_order() {
    let replay = replay_fixture(&format!("{FIXTURE}.chunks.txt"));
    assert!(replay.error.is_none() && replay.done);
    let (text, _, _) = assemble(&replay.chunks);
    assert_eq!(
        text,
        "According to the documents — the grass is green and the sky is blue."
    );
    // Each entry in stream order, with the text forwarded before it.
    let mut seen = String::new();
    let mut entries = Vec::new();
    for chunk in &replay.chunks {
        let delta = &chunk["choices"][0]["delta"];
        for entry in delta["text_citations"].as_array().into_iter().flatten() {
            entries.push((seen.chars().count(), entry.clone()));
        }
        seen.push_str(delta["content"].as_str().unwrap_or(""));
    }
    let [first, second] = [
        citations("/content/1/citations"),
        citations("/content/3/citations"),
    ];
    assert_eq!(
        entries,
        [
            (29, json!({"start": 29, "citations": []})),
            (29, json!({"start": 29, "citations": [first[0]]})),
            (47, json!({"start": 29, "end": 47, "citations": []})),
            (52, json!({"start": 52, "citations": []})),
            (52, json!({"start": 52, "citations": [second[0]]})),
            (52, json!({"start": 52, "citations": [second[1]]})),
            (67, json!({"start": 52, "end": 67, "citations": []})),
        ]
    );
    // The chunks still read as canonical chunks.
    for chunk in &replay.chunks {
        serde_json::from_value::<ChatChunk>(chunk.clone()).unwrap();
    }
}
