//! Recording of every request the mock upstream receives, before it answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

/// One request as received by the mock upstream.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `"POST"`.
    pub method: String,
    /// Request path as sent (not percent-decoded), e.g. `"/status=429/v1/chat/completions"`.
    pub path: String,
    /// Query string without the `?`, if any.
    pub query: Option<String>,
    /// The scenario parsed from the path (percent-decoded); empty when none or unknown route.
    pub scenario: String,
    /// Headers in arrival order, names lowercase; values that are not UTF-8 are decoded lossily.
    pub headers: Vec<(String, String)>,
    /// Raw request body.
    pub body: Bytes,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<serde_json::Value>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the request asked for a streamed answer: `"stream": true` in the body, a Gemini
    /// `:streamGenerateContent` path or a Bedrock `/converse-stream` path.
    pub fn is_stream(&self) -> bool {
        crate::scenario::is_gemini_stream(&self.path)
            || crate::scenario::is_bedrock_stream(&self.path)
            || self
                .json
                .as_ref()
                .and_then(|j| j.get("stream"))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
    }
}

/// Shared request log and per-scenario request counters.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    requests: Vec<RecordedRequest>,
    counts: HashMap<String, u64>,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the log inconsistent; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `req` to the log and returns how many requests its scenario has now seen (1-based).
    pub fn record(&self, req: RecordedRequest) -> u64 {
        let mut inner = self.lock();
        let count = inner.counts.entry(req.scenario.clone()).or_insert(0);
        *count += 1;
        let n = *count;
        inner.requests.push(req);
        n
    }

    /// A copy of every request recorded so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }
}
