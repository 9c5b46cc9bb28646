//! `on-chunk` on a streamed answer: each chunk goes through the request's transforms before the
//! client sees it; a refusal ends the stream with an error event and
//! `finish_reason: "content_filter"`.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use switchyard_sdk::openai::ChatChunk;

use super::HOST_FIELDS;
use super::run::{Applied, Stage, TransformLog};
use crate::generation::Generation;
use switchyard_domain::transform_refusal::TransformRefusal;

/// The chunk transforms of one stream.
#[derive(Debug, Clone)]
pub struct ChunkHook {
    applied: Arc<Applied>,
}

impl ChunkHook {
    /// The hook of a call's transforms (`ChatCall::transforms`), when one of them wants chunks.
    pub fn of(transforms: Option<&Arc<Applied>>) -> Option<ChunkHook> {
        let applied = transforms.filter(|applied| applied.streams())?;
        Some(ChunkHook {
            applied: applied.clone(),
        })
    }

    /// What the request's transforms did, for the routing trace.
    pub fn log(&self) -> &TransformLog {
        self.applied.log()
    }

    /// Runs the chunk transforms on `chunk`; a change replaces its content (the host's fields
    /// stay). The refusal when one refused or broke the contract.
    pub async fn apply(&self, chunk: &mut Map<String, Value>) -> Result<(), TransformRefusal> {
        let bytes = serde_json::to_vec(&chunk).unwrap_or_default();
        let changed = self.applied.run_bytes(&bytes, Stage::Chunk).await?;
        let Some(changed) = changed else {
            return Ok(());
        };
        let checked = serde_json::from_slice::<Map<String, Value>>(&changed)
            .ok()
            .filter(|changed| {
                serde_json::from_value::<ChatChunk>(Value::Object(changed.clone())).is_ok()
            });
        let Some(mut changed) = checked else {
            return Err(self
                .applied
                .broken("on_chunk", "returned an invalid chat.completion.chunk"));
        };
        for field in HOST_FIELDS {
            match chunk.remove(*field) {
                Some(value) => changed.insert((*field).to_owned(), value),
                None => changed.remove(*field),
            };
        }
        *chunk = changed;
        Ok(())
    }
}

/// The chunk that ends a stream a transform refused: an error event (status, code, message,
/// which transform) with `finish_reason: "content_filter"`.
pub fn refusal_chunk(generation: &Generation, refusal: &TransformRefusal) -> Value {
    let mut chunk = generation.error_chunk(refusal.status.as_u16(), &refusal.message);
    if let Some(object) = chunk.as_object_mut() {
        object.insert(
            "error".to_owned(),
            json!({
                "code": refusal.status.as_u16(),
                "message": refusal.message,
                "metadata": { "code": refusal.code, "transform": refusal.transform },
            }),
        );
        object.insert(
            "choices".to_owned(),
            json!([{ "index": 0, "delta": {}, "finish_reason": "content_filter", "native_finish_reason": "content_filter" }]),
        );
    }
    chunk
}
