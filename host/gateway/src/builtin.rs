//! The Responses API's built-in tools other than web search (code interpreter, file search,
//! MCP...), which run on the operator's upstream account: a request offering them is routed
//! only to endpoints whose provider the operator opted into each of them (`builtin_tools`),
//! whose adapter passes them upstream ([`BUILTIN_TOOLS`]) and whose catalog entry prices their
//! calls (`builtin_tool_prices`); with no such endpoint it is a 400 naming the tool. The hold
//! covers [`MAX_BUILTIN_TOOL_CALLS`] calls at the dearest requested tool's price; the calls the
//! upstream reports are charged (see [`super::searched::ToolUse`]).

use rust_decimal::Decimal;
use serde_json::Value;
use switchyard_sdk::openai::ChatRequest;
use switchyard_sdk::responses::{
    BUILTIN_TOOLS, BuiltinTool, MAX_BUILTIN_TOOL_CALLS, RESPONSES_EXTENSION,
};

use switchyard_catalog::Endpoint;
use switchyard_domain::error::DomainError;
use switchyard_domain::pricing::worst_case_builtin_calls;
use switchyard_plugin_runtime::PluginRegistry;
use switchyard_routing::Candidate;

/// The built-in tools a request offers: those of its Responses API items (which only the
/// Responses API ingress writes), in order, each once.
pub fn requested(request: &ChatRequest) -> Vec<BuiltinTool> {
    let tools = request
        .extra
        .get(RESPONSES_EXTENSION)
        .and_then(|extension| extension.get("builtin_tools"))
        .and_then(Value::as_array);
    let mut out: Vec<BuiltinTool> = Vec::new();
    let named = tools
        .into_iter()
        .flatten()
        .filter_map(|tool| tool.get("type").and_then(Value::as_str))
        .filter_map(BuiltinTool::named);
    for tool in named {
        if !out.contains(&tool) {
            out.push(tool);
        }
    }
    out
}

/// The first of `tools` that `endpoint` does not serve (its provider is not opted into it, or
/// it has no price for it), or that its adapter cannot pass upstream; `None` when it serves
/// them all.
fn unserved(
    endpoint: &Endpoint,
    plugins: &PluginRegistry,
    tools: &[BuiltinTool],
) -> Option<BuiltinTool> {
    let passes = plugins
        .provider(&endpoint.provider.plugin)
        .is_some_and(|plugin| {
            (plugin.descriptor().supported_parameters.iter()).any(|p| p == BUILTIN_TOOLS)
        });
    tools.iter().copied().find(|tool| {
        !passes
            || !endpoint.provider.builtin_tools.contains(tool)
            || endpoint.prices.builtin_tools.of_tool(*tool).is_none()
    })
}

/// Leaves out the candidates that do not serve every one of `tools`; a 400 naming the tool
/// when none is left.
pub fn keep(
    plugins: &PluginRegistry,
    tools: &[BuiltinTool],
    candidates: &mut Vec<Candidate>,
) -> Result<(), DomainError> {
    if tools.is_empty() {
        return Ok(());
    }
    let mut missing = None;
    candidates.retain(
        |candidate| match unserved(&candidate.endpoint, plugins, tools) {
            None => true,
            Some(tool) => {
                let provider = &candidate.endpoint.provider.name;
                tracing::debug!(%provider, tool = tool.name(), "endpoint skipped: not opted into the built-in tool at a price");
                missing.get_or_insert(tool);
                false
            }
        },
    );
    match (candidates.is_empty(), missing) {
        (true, Some(tool)) => Err(DomainError::BuiltinToolUnserved(refusal(tool))),
        _ => Ok(()),
    }
}

/// Why a request offering `tool` is refused.
fn refusal(tool: BuiltinTool) -> String {
    format!(
        "tools of type `{}` are not available for this model: the built-in tools other than web \
         search (file search, code interpreter, image generation, MCP, computer use, shell...) \
         run on the operator's upstream account (its vector stores, files, containers and MCP \
         credentials), so Switchyard passes one only to a Responses API upstream the operator \
         opted into it (`builtin_tools`) at a configured price per call \
         (`builtin_tool_prices`), and no endpoint of this model is",
        tool.name()
    )
}

/// The most the built-in tool calls can cost on any of `candidates`: [`MAX_BUILTIN_TOOL_CALLS`]
/// at the dearest of `tools`' prices, fee included; zero without tools, `None` when too large.
pub fn worst_case<'a>(
    tools: &[BuiltinTool],
    candidates: impl Iterator<Item = &'a Candidate>,
    fee_percent: Decimal,
) -> Option<Decimal> {
    if tools.is_empty() {
        return Some(Decimal::ZERO);
    }
    candidates
        .map(|candidate| {
            let prices = &candidate.endpoint.prices.builtin_tools;
            let dearest = (tools.iter())
                .filter_map(|tool| prices.of_tool(*tool))
                .max()
                .unwrap_or_default();
            worst_case_builtin_calls(MAX_BUILTIN_TOOL_CALLS, dearest, fee_percent)
        })
        .try_fold(Decimal::ZERO, |worst, cost| Some(worst.max(cost?)))
}
