//! Capability routing: what a chat request needs from an adapter (tool calls, image or document
//! input, JSON-schema answers, reasoning settings), read once from the request, and the first
//! need an endpoint's adapter does not declare. Such an endpoint is left out before any call,
//! with the capability in the routing trace; when that leaves nothing, the client gets a 400
//! naming it.
//!
//! Streaming is no such need: the host streams a whole answer of an adapter that cannot stream
//! itself. A streamed request prefers the endpoints whose adapters stream (the first token comes
//! sooner), unless it sorts by price.

use serde_json::Value;
use switchyard_sdk::openai::{ChatRequest, Content};
use switchyard_sdk::web_search;

use super::Candidate;
use switchyard_domain::capability::Capability;
use switchyard_domain::plugin_types::ProviderDescriptor;
use switchyard_plugin_runtime::PluginRegistry;

/// The capabilities one request needs, in the order they are checked, and whether it would
/// rather have an adapter that streams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    capabilities: Vec<Capability>,
    stream: bool,
}

impl Needs {
    /// Nothing beyond a whole chat answer (embeddings, for one).
    pub fn nothing() -> Needs {
        Needs::default()
    }

    /// What `request` needs; `stream`: the client asked for a stream.
    pub fn of(request: &ChatRequest, stream: bool) -> Needs {
        let mut needs = Vec::new();
        if request
            .tools
            .as_ref()
            .is_some_and(|tools| !tools.is_empty())
        {
            needs.push(Capability::Tools);
        }
        let parts = || {
            (request.messages.iter())
                .filter_map(|message| match &message.content {
                    Some(Content::Parts(parts)) => Some(parts.iter()),
                    _ => None,
                })
                .flatten()
        };
        if parts().any(|part| part.kind == "image_url") {
            needs.push(Capability::Vision);
        }
        if parts().any(|part| part.kind == "file") {
            needs.push(Capability::Documents);
        }
        let format_type = (request.extra.get("response_format"))
            .and_then(|format| format.get("type"))
            .and_then(Value::as_str);
        if format_type == Some("json_schema") {
            needs.push(Capability::JsonSchema);
        }
        if asks_reasoning(request) {
            needs.push(Capability::Reasoning);
        }
        if web_search::options(request).is_some() {
            needs.push(Capability::WebSearch);
        }
        Needs {
            capabilities: needs,
            stream,
        }
    }

    /// Whether the request needs `capability`.
    pub fn has(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }

    /// Whether the request needs nothing an adapter could lack.
    pub fn is_empty(&self) -> bool {
        self.capabilities.is_empty()
    }

    /// The first capability the adapter described by `descriptor` lacks.
    pub fn missing(&self, descriptor: &ProviderDescriptor) -> Option<Capability> {
        (self.capabilities.iter().copied()).find(|capability| !capability.declared_by(descriptor))
    }
}

/// `ordered` with the endpoints whose adapters stream first, each part in its order, when the
/// request streams and is not sorted by price (`by_price`); as it is otherwise.
pub fn streaming_first(
    mut ordered: Vec<Candidate>,
    needs: &Needs,
    by_price: bool,
    plugins: &PluginRegistry,
) -> Vec<Candidate> {
    if needs.stream && !by_price && ordered.len() > 1 {
        ordered.sort_by_cached_key(|candidate| {
            let adapter = plugins.stable_provider(&candidate.endpoint.provider.plugin);
            !adapter.is_some_and(|adapter| adapter.descriptor().streaming)
        });
    }
    ordered
}

/// Whether the request sets reasoning: `reasoning_effort`, or a `reasoning` object that does not
/// turn it off (`{"enabled": false}`, `{"effort": "none"}`).
fn asks_reasoning(request: &ChatRequest) -> bool {
    let effort_none = |value: &Value| value.as_str() == Some("none");
    if (request.extra.get("reasoning_effort")).is_some_and(|e| !e.is_null() && !effort_none(e)) {
        return true;
    }
    let Some(Value::Object(reasoning)) = request.extra.get("reasoning") else {
        return false;
    };
    let off = reasoning.get("enabled") == Some(&Value::Bool(false))
        || reasoning.get("effort").is_some_and(effort_none);
    !off
}

/// The capabilities named in a routing trace's exclusions, when every endpoint was left out for
/// one: the distinct ones, in the order met.
pub fn all_missing(missing: &[Option<Capability>]) -> Option<Vec<Capability>> {
    let mut distinct: Vec<Capability> = Vec::new();
    for capability in missing {
        let capability = (*capability)?;
        if !distinct.contains(&capability) {
            distinct.push(capability);
        }
    }
    (!distinct.is_empty()).then_some(distinct)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchyard_domain::plugin_types::Declared;

    fn request(value: Value) -> ChatRequest {
        serde_json::from_value(value).expect("a chat request")
    }

    fn descriptor(streaming: bool, tools: bool, declared: Option<Declared>) -> ProviderDescriptor {
        ProviderDescriptor {
            name: "a".to_owned(),
            version: "1".to_owned(),
            allowed_hosts: Vec::new(),
            streaming,
            tools,
            supported_parameters: Vec::new(),
            embeddings: false,
            declared,
        }
    }

    #[test]
    fn a_request_needs_what_it_uses() {
        let plain = request(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}));
        assert_eq!(Needs::of(&plain, false), Needs::nothing());
        let everything = request(json!({
            "model": "m",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,AA=="}}
            ]}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
            "reasoning": {"effort": "high"},
        }));
        assert_eq!(
            Needs::of(&everything, true).capabilities,
            vec![
                Capability::Tools,
                Capability::Vision,
                Capability::Documents,
                Capability::JsonSchema,
                Capability::Reasoning,
            ]
        );
        let off = request(json!({
            "model": "m", "messages": [], "tools": [],
            "reasoning": {"enabled": false}, "response_format": {"type": "json_object"},
        }));
        assert_eq!(Needs::of(&off, false), Needs::nothing());
        assert!(Needs::of(&off, true).is_empty());
    }

    #[test]
    fn the_first_undeclared_capability_is_missing() {
        let needs = Needs {
            capabilities: vec![Capability::Tools, Capability::Vision],
            stream: true,
        };
        let no_vision = Some(Declared {
            vision: false,
            documents: true,
            json_schema: true,
            reasoning: true,
            passes_conversation: false,
        });
        assert_eq!(needs.missing(&descriptor(false, true, None)), None);
        assert_eq!(
            needs.missing(&descriptor(true, false, no_vision)),
            Some(Capability::Tools)
        );
        assert_eq!(
            needs.missing(&descriptor(true, true, no_vision)),
            Some(Capability::Vision)
        );
        assert_eq!(Capability::Vision.to_string(), "image input (vision)");
    }

    #[test]
    fn only_capability_exclusions_name_capabilities() {
        use Capability::*;
        assert_eq!(
            all_missing(&[Some(Vision), Some(Tools), Some(Vision)]),
            Some(vec![Vision, Tools])
        );
        assert_eq!(all_missing(&[Some(Vision), None]), None);
        assert_eq!(all_missing(&[]), None);
    }
}
