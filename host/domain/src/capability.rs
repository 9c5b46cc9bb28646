//! The request features an adapter may declare it passes on, named in routing traces and errors.

use std::fmt;

use switchyard_sdk::web_search;

use crate::plugin_types::{Declared, ProviderDescriptor};

/// A request feature an adapter declares it can pass on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Tool definitions and tool calls.
    Tools,
    /// Image parts.
    Vision,
    /// Document (`file`) parts.
    Documents,
    /// `response_format` of type `json_schema`.
    JsonSchema,
    /// Reasoning settings.
    Reasoning,
    /// Web search by the upstream's own engine (`web_search_options`, which the gateway writes
    /// for `:online` and `plugins: [{"id": "web"}]`), at a price the catalog knows.
    WebSearch,
}

impl Capability {
    /// The capability's name, as adapters declare it.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Tools => "tools",
            Capability::Vision => "vision",
            Capability::Documents => "documents",
            Capability::JsonSchema => "json_schema",
            Capability::Reasoning => "reasoning",
            Capability::WebSearch => "web_search",
        }
    }

    /// What the request uses that needs it, in words.
    fn feature(self) -> &'static str {
        match self {
            Capability::Tools => "tools",
            Capability::Vision => "image input",
            Capability::Documents => "document (file) input",
            Capability::JsonSchema => "a JSON-schema response_format",
            Capability::Reasoning => "reasoning settings",
            Capability::WebSearch => "web search by the upstream's own engine at a known price",
        }
    }

    /// Whether `descriptor` declares it. An adapter built before contract 0.5.0 could declare
    /// tools only: it is taken to support the rest.
    pub fn declared_by(self, descriptor: &ProviderDescriptor) -> bool {
        let declared = |has: fn(&Declared) -> bool| descriptor.declared.as_ref().is_none_or(has);
        match self {
            Capability::Tools => descriptor.tools,
            Capability::Vision => declared(|d| d.vision),
            Capability::Documents => declared(|d| d.documents),
            Capability::JsonSchema => declared(|d| d.json_schema),
            Capability::Reasoning => declared(|d| d.reasoning),
            Capability::WebSearch => (descriptor.supported_parameters.iter())
                .any(|parameter| parameter == web_search::OPTIONS),
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.feature(), self.name())
    }
}
