//! The transforms of one request ([`Applied`]): they run in order, each on what the one before
//! left, and the host carries each one's state between its calls.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use switchyard_sdk::openai::ChatRequest;

use super::metrics;
use switchyard_domain::config::transforms::OnFault;
use switchyard_domain::transform_refusal::{FAULT_CODE, TransformRefusal};
use switchyard_plugin_runtime::PluginRegistry;
use switchyard_plugin_runtime::transform::{Hook, RoutedEndpoint, TransformPlugin, Verdict};
use switchyard_plugin_runtime::warm::TenantScope;

/// One transform attached to a request.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// The version serving this request (held until the request ends: hot swap drains).
    pub plugin: Arc<TransformPlugin>,
    /// Its options, a JSON object.
    pub options: Arc<str>,
    /// What a fault does.
    pub on_fault: OnFault,
}

/// The transforms of one request, their host-carried state, and what they did.
#[derive(Debug)]
pub struct Applied {
    entries: Vec<Entry>,
    scope: TenantScope,
    plugins: Option<Arc<PluginRegistry>>,
    /// Each entry's state, in entry order.
    states: Mutex<Vec<Vec<u8>>>,
    /// The body `on-routed` made for the endpoint tried now.
    routed: Mutex<Option<Bytes>>,
    /// The client's request, when an `on-request` hook changed it: what a response cache keys
    /// on.
    original: OnceLock<ChatRequest>,
    log: TransformLog,
}

impl Applied {
    /// Nothing to run.
    pub fn none() -> Applied {
        Applied::new(Vec::new(), TenantScope::OPERATOR, None)
    }

    pub(super) fn new(
        entries: Vec<Entry>,
        scope: TenantScope,
        plugins: Option<Arc<PluginRegistry>>,
    ) -> Applied {
        Applied {
            states: Mutex::new(vec![Vec::new(); entries.len()]),
            entries,
            original: OnceLock::new(),
            scope,
            plugins,
            routed: Mutex::new(None),
            log: TransformLog::default(),
        }
    }

    /// No transform runs.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The client's request as it came, when an `on-request` hook changed it.
    pub fn original_request(&self) -> Option<&ChatRequest> {
        self.original.get()
    }

    /// Keeps the client's request as it came, once, before an `on-request` hook's change
    /// replaces it.
    pub fn keep_original(&self, request: ChatRequest) {
        let _ = self.original.set(request);
    }

    /// Some transform wants `on-routed` (`middle-out`): it may fit the prompt to a smaller
    /// context, so routing should not leave an endpoint out for its context length.
    pub fn routes(&self) -> bool {
        self.entries.iter().any(|entry| entry.plugin.hooks().routed)
    }

    /// Some transform wants `on-response`.
    pub fn answers(&self) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.plugin.hooks().response)
    }

    /// Some transform wants `on-chunk`.
    pub fn streams(&self) -> bool {
        self.entries.iter().any(|entry| entry.plugin.hooks().chunk)
    }

    /// Each transform as `name@version+digest` (12 hex digits), comma-separated, in order.
    pub fn versions(&self) -> String {
        let versions: Vec<String> = (self.entries.iter())
            .map(|entry| {
                let plugin = &entry.plugin;
                let digest = &plugin.state().digest;
                let short = digest.get(..12).unwrap_or(digest);
                format!("{}@{}+{short}", plugin.name(), plugin.version())
            })
            .collect();
        versions.join(",")
    }

    /// What the transforms did so far, for the routing trace.
    pub fn log(&self) -> &TransformLog {
        &self.log
    }

    /// Keeps the body the current endpoint receives, as its `on-routed` hooks left it (`None`:
    /// the request's own body).
    pub fn set_routed(&self, body: Option<Bytes>) {
        *lock(&self.routed) = body;
    }

    /// The body the current endpoint receives, when its `on-routed` hooks changed it.
    pub fn routed_body(&self) -> Option<Bytes> {
        lock(&self.routed).clone()
    }

    /// Runs the hook `make` builds over `input` through every transform that wants it, each on
    /// what the one before returned: the final bytes when one changed them, `None` when all
    /// passed; the refusal of the first that refused (or faulted, failing closed).
    pub async fn run_bytes(
        &self,
        input: &[u8],
        stage: Stage<'_>,
    ) -> Result<Option<Vec<u8>>, TransformRefusal> {
        let mut current: Option<Vec<u8>> = None;
        for (index, entry) in self.entries.iter().enumerate() {
            let bytes = current.as_deref().unwrap_or(input);
            let hook = stage.hook(bytes);
            let plugin = &entry.plugin;
            if !hook.wanted_by(plugin.hooks()) {
                continue;
            }
            let function = hook.function();
            let state = std::mem::take(&mut lock(&self.states)[index]);
            let result = plugin.call(&self.scope, &entry.options, hook, &state).await;
            self.record_outcome(plugin, result.is_ok());
            let outcome = match result {
                Ok(outcome) => outcome,
                Err(fault) => {
                    tracing::warn!(transform = plugin.name(), function, error = %fault, on_fault = ?entry.on_fault, "transform faulted");
                    match entry.on_fault {
                        OnFault::Pass => {
                            lock(&self.states)[index] = state;
                            self.note(plugin, function, "fault_passed");
                            continue;
                        }
                        OnFault::Refuse => {
                            self.note(plugin, function, "fault_refused");
                            return Err(fault_refusal(plugin.name(), function, &fault.reason));
                        }
                    }
                }
            };
            lock(&self.states)[index] = outcome.state;
            match outcome.verdict {
                Verdict::Pass => self.note(plugin, function, "pass"),
                Verdict::Modify(bytes) => {
                    self.note(plugin, function, "modified");
                    current = Some(bytes);
                }
                Verdict::Refuse(refusal) => {
                    self.note(plugin, function, "refused");
                    return Err(TransformRefusal::new(
                        plugin.name(),
                        function,
                        refusal.status,
                        &refusal.code,
                        refusal.message,
                    ));
                }
            }
        }
        Ok(current)
    }

    /// The refusal for output of `function` that breaks the contract (an invalid request or
    /// answer); the transforms that ran are named, since the host cannot tell which one broke it.
    pub fn broken(&self, function: &'static str, reason: impl Into<String>) -> TransformRefusal {
        let names: Vec<&str> = self.entries.iter().map(|e| e.plugin.name()).collect();
        fault_refusal(&names.join(", "), function, &reason.into())
    }

    fn record_outcome(&self, plugin: &TransformPlugin, ok: bool) {
        if let Some(plugins) = &self.plugins {
            plugins.record_outcome(plugin.name(), plugin.state(), ok);
        }
    }

    fn note(&self, plugin: &TransformPlugin, function: &'static str, outcome: &'static str) {
        metrics::count(plugin.name(), function, outcome);
        self.log
            .push(plugin.name(), plugin.version(), function, outcome);
    }
}

/// Which hook [`Applied::run_bytes`] runs, with its inputs other than the bytes it changes.
#[derive(Debug, Clone, Copy)]
pub enum Stage<'a> {
    /// `on-request`.
    Request,
    /// `on-routed`, for this endpoint.
    Routed(&'a RoutedEndpoint),
    /// `on-response`, for the request as the endpoint received it.
    Response(&'a [u8]),
    /// `on-chunk`.
    Chunk,
}

impl<'a> Stage<'a> {
    fn hook<'b>(self, bytes: &'b [u8]) -> Hook<'b>
    where
        'a: 'b,
    {
        match self {
            Stage::Request => Hook::Request { request: bytes },
            Stage::Routed(endpoint) => Hook::Routed {
                request: bytes,
                endpoint,
            },
            Stage::Response(request) => Hook::Response {
                request,
                response: bytes,
            },
            Stage::Chunk => Hook::Chunk { chunk: bytes },
        }
    }
}

/// The refusal of a request whose transform faulted and fails closed.
fn fault_refusal(transform: &str, function: &'static str, reason: &str) -> TransformRefusal {
    TransformRefusal::new(
        transform,
        function,
        500,
        FAULT_CODE,
        format!("transform {transform} failed ({function}): {reason}; the request is refused"),
    )
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the transforms of a request did, for the routing trace: one line per transform, hook
/// and outcome, with how many times (a stream's chunks are one line).
#[derive(Debug, Clone, Default)]
pub struct TransformLog(Arc<Mutex<Vec<Ran>>>);

/// One line of a [`TransformLog`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ran {
    /// The transform's name.
    pub transform: String,
    /// Its version.
    pub version: String,
    /// The hook, e.g. `on_request`.
    pub hook: &'static str,
    /// `pass`, `modified`, `refused`, `fault_passed` or `fault_refused`.
    pub outcome: &'static str,
    /// How many calls had this outcome.
    pub calls: u64,
}

impl TransformLog {
    fn push(&self, transform: &str, version: &str, hook: &'static str, outcome: &'static str) {
        let mut lines = lock(&self.0);
        let same = |ran: &&mut Ran| {
            ran.transform == transform && ran.hook == hook && ran.outcome == outcome
        };
        match lines.iter_mut().find(|ran| same(ran)) {
            Some(ran) => ran.calls += 1,
            None => lines.push(Ran {
                transform: transform.to_owned(),
                version: version.to_owned(),
                hook,
                outcome,
                calls: 1,
            }),
        }
    }

    /// The lines so far.
    pub fn lines(&self) -> Vec<Ran> {
        lock(&self.0).clone()
    }

    /// Whether nothing ran.
    pub fn is_empty(&self) -> bool {
        lock(&self.0).is_empty()
    }

    /// Writes the lines into a routing trace object as its `transforms` list.
    pub fn write_into(&self, trace: &mut Value) {
        if let (Value::Object(trace), false) = (trace, self.is_empty()) {
            let lines = serde_json::to_value(self.lines()).unwrap_or(Value::Null);
            trace.insert("transforms".to_owned(), lines);
        }
    }
}
