//! A validated chat request, as the API ingresses hand it to the gateway and the transforms
//! see it.

use std::sync::Arc;

use bytes::Bytes;
use switchyard_sdk::openai::ChatRequest;

use crate::cache::Directives;
use crate::transforms::Applied;
use switchyard_accounting::tab::Tab;
use switchyard_routing::preferences::ProviderPreferences;
use switchyard_routing::sticky::Session;

/// A validated chat request.
#[derive(Debug)]
pub struct ChatCall {
    /// The client's body, passed to adapters as is.
    pub body: Bytes,
    /// The parsed request.
    pub request: ChatRequest,
    /// Model ids to try, in order (`model`, then `models`), variants included.
    pub models: Vec<String>,
    /// Whether the client wants a stream.
    pub stream: bool,
    /// The request's `provider` preferences.
    pub preferences: ProviderPreferences,
    /// Routable parameters the request sets, when `provider.require_parameters` needs them
    /// (empty otherwise).
    pub sent_parameters: Vec<String>,
    /// Whether the client asked for the routing trace in the response.
    pub debug_routing: bool,
    /// Its accounting (a no-op when accounting is disabled).
    pub tab: Tab,
    /// The conversation it continues, for sticky routing.
    pub session: Option<Session>,
    /// The client speaks the Responses API: an upstream's own Responses items reach it
    /// ([`super::passed_output`]); every other client's answers are stripped of them.
    pub responses_client: bool,
    /// What the request's headers say about the response cache.
    pub cache: Directives,
    /// Whether the client offered the model a web search tool without asking for a search (the
    /// Codex CLI does): endpoints that search at a known price get the body with
    /// `web_search_options`; elsewhere the tool is left out, and the answer says so in
    /// `X-Switchyard-Omitted-Tools` ([`super::searched`]).
    pub offered_search: bool,
    /// Its transforms and their state, once [`crate::transform_hooks::prepare`] resolved them
    /// (`None` before).
    pub transforms: Option<Arc<Applied>>,
}
