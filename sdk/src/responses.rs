//! The Responses API items a client's request carries through Switchyard to an upstream that
//! speaks the Responses API too (the request extension [`RESPONSES_EXTENSION`]), so they arrive
//! as the client wrote them instead of after a round trip through chat messages. The same types
//! carry the upstream's output items back to the client ([`ResponsesOutput`]).
//!
//! These types are the allow-list: only self-contained items pass. Item types that point at
//! state kept in the operator's upstream account (`item_reference`, built-in tool calls) do not
//! parse, and neither do uploaded-file references (`file_id` on an image or file part), so a
//! client can never reach the operator's stored responses or files. Fields the types do not
//! name are dropped on items and refused on content parts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The top-level field for Responses API items. On a request: the client's input. Switchyard's
/// Responses API ingress writes it (a client's own is refused), the Responses adapter sends it
/// upstream in place of the input it would rebuild from `messages`, and adapters for other wire
/// formats never send it upstream (`messages` carries the same conversation). On a completion
/// (`{"output": [...]}`): the upstream's output items, which the host takes off the completion
/// and gives a Responses API client in place of items rebuilt from the chat message.
pub const RESPONSES_EXTENSION: &str = "openai_responses";

/// What a Responses API request keeps for a Responses API upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsesExtension {
    /// The input items, in order.
    pub input: Vec<InputItem>,
    /// The system instructions, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// The reasoning settings (effort and summary), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningSettings>,
    /// The answer's text settings (format and verbosity), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextSettings>,
    /// The client's `web_search` tool, as sent: a Responses upstream gets it as is when the
    /// gateway serves the search there (the request then carries `web_search_options`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_tool: Option<Value>,
    /// The client's built-in tools other than web search, as sent: the gateway writes them only
    /// for an endpoint whose provider the operator opted into them ([`BuiltinTool`]), and a
    /// Responses upstream gets them as is, with at most [`MAX_BUILTIN_TOOL_CALLS`] tool calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub builtin_tools: Vec<Value>,
}

/// The supported parameter a Responses adapter declares when it passes the client's built-in
/// tools ([`ResponsesExtension::builtin_tools`]) upstream.
pub const BUILTIN_TOOLS: &str = "builtin_tools";

/// The most built-in tool calls one request may make: the Responses adapter sends it as
/// `max_tool_calls`, and the gateway holds that many calls at the dearest requested tool's
/// price.
pub const MAX_BUILTIN_TOOL_CALLS: u64 = 5;

/// A built-in tool of the Responses API (other than web search) that runs on the upstream
/// account: an operator opts a provider into each (`builtin_tools`) and prices its calls per
/// endpoint (`builtin_tool_prices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinTool {
    /// `file_search`: searches the operator's vector stores.
    FileSearch,
    /// `code_interpreter`: runs code in the operator's containers.
    CodeInterpreter,
    /// `computer_use_preview`: asks the client to act on a computer.
    ComputerUsePreview,
    /// `image_generation`: generates images.
    ImageGeneration,
    /// `mcp`: calls a remote MCP server (with the credentials the tool carries).
    Mcp,
    /// `local_shell`: asks the client to run shell commands.
    LocalShell,
}

impl BuiltinTool {
    /// Every built-in tool, in the order of [`BuiltinCalls`].
    pub const ALL: [BuiltinTool; 6] = [
        BuiltinTool::FileSearch,
        BuiltinTool::CodeInterpreter,
        BuiltinTool::ComputerUsePreview,
        BuiltinTool::ImageGeneration,
        BuiltinTool::Mcp,
        BuiltinTool::LocalShell,
    ];

    /// The tool's `type` in a request's `tools`.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinTool::FileSearch => "file_search",
            BuiltinTool::CodeInterpreter => "code_interpreter",
            BuiltinTool::ComputerUsePreview => "computer_use_preview",
            BuiltinTool::ImageGeneration => "image_generation",
            BuiltinTool::Mcp => "mcp",
            BuiltinTool::LocalShell => "local_shell",
        }
    }

    /// The tool of a request's tool `type`.
    pub fn named(name: &str) -> Option<BuiltinTool> {
        BuiltinTool::ALL
            .into_iter()
            .find(|tool| tool.name() == name)
    }

    /// The `type` of the output item of one call of the tool (the item a call is charged by).
    pub fn call_item(self) -> &'static str {
        match self {
            BuiltinTool::FileSearch => "file_search_call",
            BuiltinTool::CodeInterpreter => "code_interpreter_call",
            BuiltinTool::ComputerUsePreview => "computer_call",
            BuiltinTool::ImageGeneration => "image_generation_call",
            BuiltinTool::Mcp => "mcp_call",
            BuiltinTool::LocalShell => "local_shell_call",
        }
    }

    /// The tool whose output items have `item_type` (an MCP server's tool list and approval
    /// requests are the `mcp` tool's items too, not calls).
    pub fn of_item(item_type: &str) -> Option<BuiltinTool> {
        match item_type {
            "mcp_list_tools" | "mcp_approval_request" => Some(BuiltinTool::Mcp),
            _ => (BuiltinTool::ALL.into_iter()).find(|tool| tool.call_item() == item_type),
        }
    }

    /// The tool's place in [`BuiltinTool::ALL`].
    pub fn index(self) -> usize {
        BuiltinTool::ALL
            .iter()
            .position(|tool| *tool == self)
            .unwrap_or(0)
    }
}

/// Calls of each built-in tool an answer made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuiltinCalls([u64; 6]);

impl BuiltinCalls {
    /// The calls of `tool`.
    pub fn of(&self, tool: BuiltinTool) -> u64 {
        self.0[tool.index()]
    }

    /// Counts `calls` more calls of `tool`.
    pub fn add(&mut self, tool: BuiltinTool, calls: u64) {
        let count = &mut self.0[tool.index()];
        *count = count.saturating_add(calls);
    }

    /// No call at all.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|calls| *calls == 0)
    }

    /// The tools called, with their calls.
    pub fn iter(&self) -> impl Iterator<Item = (BuiltinTool, u64)> + '_ {
        (BuiltinTool::ALL.into_iter())
            .map(|tool| (tool, self.of(tool)))
            .filter(|(_, calls)| *calls > 0)
    }

    /// Each tool's larger count of `self` and `other` (streams report cumulative counts).
    pub fn max(self, other: BuiltinCalls) -> BuiltinCalls {
        let mut out = self;
        for (count, other) in out.0.iter_mut().zip(other.0) {
            *count = (*count).max(other);
        }
        out
    }

    /// The calls of the built-in tools among `items` (output items), by their `type`.
    pub fn of_items<'a>(items: impl Iterator<Item = &'a Value>) -> BuiltinCalls {
        let mut calls = BuiltinCalls::default();
        for kind in items.filter_map(|item| item.get("type").and_then(Value::as_str)) {
            if let Some(tool) = BuiltinTool::ALL
                .into_iter()
                .find(|tool| tool.call_item() == kind)
            {
                calls.add(tool, 1);
            }
        }
        calls
    }

    /// As the canonical answer reports them: `{"code_interpreter": 1, ...}` (see
    /// [`crate::web_search::SERVER_TOOL_USE`]'s `builtin_tool_calls`).
    pub fn to_json(&self) -> Value {
        let map: serde_json::Map<String, Value> = self
            .iter()
            .map(|(tool, calls)| (tool.name().to_owned(), Value::from(calls)))
            .collect();
        Value::Object(map)
    }

    /// The counts of [`Self::to_json`]'s shape; unknown tools are not counted.
    pub fn from_json(value: &Value) -> BuiltinCalls {
        let mut calls = BuiltinCalls::default();
        for (name, count) in value.as_object().into_iter().flatten() {
            if let (Some(tool), Some(count)) = (BuiltinTool::named(name), count.as_u64()) {
                calls.add(tool, count);
            }
        }
        calls
    }
}

/// Joins a `namespace` tool's name and one of its functions' into the one function name the
/// chat format has room for: `{namespace}__{function}`.
pub fn flat_name(namespace: &str, function: &str) -> String {
    format!("{namespace}{NAMESPACE_SEPARATOR}{function}")
}

/// What [`flat_name`] puts between a namespace and its function.
pub const NAMESPACE_SEPARATOR: &str = "__";

/// What a completion from a Responses API upstream keeps for a Responses API client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponsesOutput {
    /// The upstream's output items, in order.
    pub output: Vec<OutputItem>,
}

/// One output item of a Responses upstream: an item a client may send back, or an item of a
/// built-in tool the operator opted into (passed to the client as the upstream wrote it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OutputItem {
    /// A message, function call, reasoning...
    Item(InputItem),
    /// A built-in tool's item (`code_interpreter_call`, `file_search_call`, `mcp_call`...).
    Builtin(BuiltinItem),
}

/// An output item of a built-in tool ([`BuiltinTool::of_item`]), its fields as the upstream
/// wrote them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuiltinItem(pub serde_json::Map<String, Value>);

impl BuiltinItem {
    /// The tool the item belongs to.
    pub fn tool(&self) -> Option<BuiltinTool> {
        BuiltinTool::of_item(self.0.get("type").and_then(Value::as_str)?)
    }
}

impl<'de> Deserialize<'de> for BuiltinItem {
    /// An object whose `type` is a built-in tool's item type; anything else is refused.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let map = serde_json::Map::<String, Value>::deserialize(deserializer)?;
        let item = BuiltinItem(map);
        match item.tool() {
            Some(_) => Ok(item),
            None => Err(D::Error::custom("not a built-in tool's output item")),
        }
    }
}

/// `reasoning` of a Responses request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasoningSettings {
    /// `minimal`, `low`, `medium`, `high`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `auto`, `concise` or `detailed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// `text` of a Responses request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextSettings {
    /// `{"type": "text"}`, `{"type": "json_object"}` or a `json_schema` format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
    /// `low`, `medium` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
}

/// One input item (or output item: an answer's items are input items of the next turn).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputItem {
    /// A message of the user, the system, the developer or an earlier assistant turn.
    Message(MessageItem),
    /// A function call of an earlier turn.
    FunctionCall(FunctionCallItem),
    /// The client's result of a function call.
    FunctionCallOutput(FunctionCallOutputItem),
    /// Reasoning of an earlier turn, sent back with its encrypted content.
    Reasoning(ReasoningItem),
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The end user.
    User,
    /// The operator's instructions.
    System,
    /// The developer's instructions.
    Developer,
    /// The model, in an earlier turn.
    Assistant,
}

/// A `message` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageItem {
    /// The item id of an earlier answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Who wrote it.
    pub role: Role,
    /// Its text or its parts.
    pub content: MessageContent,
    /// `completed`, `incomplete`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Which phase of an assistant turn it belongs to (`commentary`, `final_answer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// A message's content: a string or content parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Content parts.
    Parts(Vec<ContentPart>),
}

impl<'de> Deserialize<'de> for MessageContent {
    /// By hand rather than untagged, so a refused part says why (`unknown field `file_id``).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(deserializer)? {
            Value::String(text) => Ok(Self::Text(text)),
            parts @ Value::Array(_) => serde_json::from_value(parts)
                .map(Self::Parts)
                .map_err(D::Error::custom),
            _ => Err(D::Error::custom(
                "content must be a string or an array of parts",
            )),
        }
    }
}

/// One content part of a message or of a function call's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// Text from the user, system or developer.
    InputText(TextPart),
    /// Text of an earlier answer.
    OutputText(OutputTextPart),
    /// A refusal of an earlier answer.
    Refusal(RefusalPart),
    /// An image, by URL or data URL.
    InputImage(ImagePart),
    /// A file, inline or by URL.
    InputFile(FilePart),
}

/// `input_text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextPart {
    /// The text.
    pub text: String,
}

/// `output_text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputTextPart {
    /// The text.
    pub text: String,
    /// Citations in the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<Value>>,
    /// Token log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Vec<Value>>,
}

/// `refusal`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalPart {
    /// What the model said instead of answering.
    pub refusal: String,
}

/// `input_image`: by URL only (an uploaded file's id would reach the operator's files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagePart {
    /// An `https:` or `data:` URL.
    pub image_url: String,
    /// `low`, `high` or `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `input_file`: inline data or a URL (an uploaded file's id would reach the operator's files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePart {
    /// The file as a data URL or base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<String>,
    /// The file's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// A `function_call` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallItem {
    /// The item id of an earlier answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The call's id, which its output names.
    pub call_id: String,
    /// The function's name.
    pub name: String,
    /// The namespace tool the function belongs to, when it is one of a `namespace` tool's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The arguments, a JSON text.
    pub arguments: String,
    /// `completed`, `incomplete`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A `function_call_output` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallOutputItem {
    /// The item's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The call it answers.
    pub call_id: String,
    /// The result: text, or text, image and file parts.
    pub output: MessageContent,
    /// `completed`, `incomplete`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A `reasoning` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasoningItem {
    /// The item id of the answer it came with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its summaries.
    #[serde(default)]
    pub summary: Vec<ReasoningText>,
    /// Its reasoning text, where the model shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ReasoningText>>,
    /// The reasoning, encrypted by the provider; an upstream that keeps no state needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
    /// `completed`, `incomplete`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A `summary_text` or `reasoning_text` part of a reasoning item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasoningText {
    /// `summary_text` or `reasoning_text`.
    #[serde(rename = "type")]
    pub kind: ReasoningTextKind,
    /// The text.
    pub text: String,
}

/// The two kinds of [`ReasoningText`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningTextKind {
    /// A summary of the reasoning.
    SummaryText,
    /// The reasoning itself.
    ReasoningText,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(input: Value) -> Result<ResponsesExtension, String> {
        serde_json::from_value(json!({ "input": input })).map_err(|e| e.to_string())
    }

    #[test]
    fn self_contained_items_round_trip_unchanged() {
        let input = json!([
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": "data:image/png;base64,AA==", "detail": "low"},
                {"type": "input_file", "file_url": "https://example.com/a.pdf", "filename": "a.pdf"}
            ]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hm"}], "encrypted_content": "gAAA"},
            {"type": "message", "id": "msg_1", "role": "assistant", "phase": "commentary", "status": "completed",
             "content": [{"type": "output_text", "text": "calling", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": [
                {"type": "input_text", "text": "done"},
                {"type": "input_image", "image_url": "https://example.com/chart.png"}
            ]}
        ]);
        let extension = parsed(input.clone()).unwrap();
        assert_eq!(serde_json::to_value(&extension.input).unwrap(), input);
    }

    #[test]
    fn items_reaching_the_operators_account_are_refused() {
        for (input, needle) in [
            (
                json!([{"type": "item_reference", "id": "msg_1"}]),
                "item_reference",
            ),
            (
                json!([{"type": "web_search_call", "id": "ws_1"}]),
                "web_search_call",
            ),
            (
                json!([{"type": "message", "role": "user", "content": [
                    {"type": "input_file", "file_id": "file-operator"}]}]),
                "file_id",
            ),
            (
                json!([{"type": "message", "role": "user", "content": [
                    {"type": "input_image", "image_url": "https://x/y.png", "file_id": "file-operator"}]}]),
                "file_id",
            ),
            (
                json!([{"type": "function_call_output", "call_id": "c", "output": [
                    {"type": "input_image", "file_id": "file-operator"}]}]),
                "",
            ),
        ] {
            let error = parsed(input.clone()).expect_err(&input.to_string());
            assert!(error.contains(needle), "{error}");
        }
    }

    #[test]
    fn built_in_tools_items_pass_as_output_only_and_their_calls_are_counted() {
        let output = json!({"output": [
            {"type": "code_interpreter_call", "id": "ci_1", "code": "1", "outputs": null},
            {"type": "mcp_list_tools", "id": "mcpl_1", "server_label": "x", "tools": []},
            {"type": "message", "role": "assistant", "content": "done"}
        ]});
        let parsed: ResponsesOutput = serde_json::from_value(output.clone()).unwrap();
        assert!(matches!(parsed.output[0], OutputItem::Builtin(_)));
        assert!(matches!(parsed.output[2], OutputItem::Item(_)));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), output);
        let refused = json!({"output": [{"type": "web_search_call", "id": "ws_1"}]});
        assert!(serde_json::from_value::<ResponsesOutput>(refused).is_err());
        // Never as input.
        assert!(parsed_input_refuses_built_in_calls());
        let calls = BuiltinCalls::of_items(output["output"].as_array().unwrap().iter());
        assert_eq!(calls.of(BuiltinTool::CodeInterpreter), 1);
        assert_eq!(calls.of(BuiltinTool::Mcp), 0);
        assert_eq!(BuiltinCalls::from_json(&calls.to_json()), calls);
        assert_eq!(
            BuiltinTool::named("local_shell"),
            Some(BuiltinTool::LocalShell)
        );
        assert_eq!(BuiltinTool::named("apply_patch"), None);
    }

    fn parsed_input_refuses_built_in_calls() -> bool {
        parsed(json!([{"type": "code_interpreter_call", "id": "ci_1"}])).is_err()
    }

    #[test]
    fn unknown_item_fields_are_dropped() {
        let extension = parsed(json!([
            {"type": "message", "role": "user", "content": "hi", "previous_response_id": "resp_1"}
        ]))
        .unwrap();
        let sent = serde_json::to_value(&extension.input).unwrap();
        assert_eq!(
            sent,
            json!([{"type": "message", "role": "user", "content": "hi"}])
        );
    }
}
