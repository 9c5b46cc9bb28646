//! Request bodies of three sizes: a one-line question (about 100 B) and chat histories of about
//! 10 KB and 100 KB, shaped like an agent's prompt: a system prompt, tool definitions, and turns
//! of user questions, assistant answers, tool calls and tool results (code with quotes, newlines
//! and backslashes, so JSON escaping is exercised). Generated deterministically from a fixed seed:
//! every run and every contender gets the same bytes.

use serde_json::{Value, json};

/// The body sizes the CPU section measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BodySize {
    /// One short user message, about 100 B.
    Small,
    /// A short conversation, about 10 KB.
    Medium,
    /// An agent's prompt with tools and history, about 100 KB.
    Large,
}

impl BodySize {
    /// Every size, smallest first.
    pub const ALL: [BodySize; 3] = [BodySize::Small, BodySize::Medium, BodySize::Large];

    /// The size the body grows to, bytes (the small one is what it is).
    pub fn target_bytes(self) -> usize {
        match self {
            BodySize::Small => 100,
            BodySize::Medium => 10 * 1024,
            BodySize::Large => 100 * 1024,
        }
    }

    /// Label in the report.
    pub fn label(self) -> &'static str {
        match self {
            BodySize::Small => "~100 B",
            BodySize::Medium => "~10 KB",
            BodySize::Large => "~100 KB",
        }
    }
}

/// The serialized request body for `model` of `size`.
pub fn body(model: &str, size: BodySize, stream: bool) -> String {
    if size == BodySize::Small {
        return json!({
            "model": model,
            "messages": [{"role": "user", "content": "Hello there, how are you today?"}],
            "stream": stream,
        })
        .to_string();
    }
    let target = size.target_bytes();
    let mut words = Words::new(0x5eed_cafe_f00d_d00d);
    let mut messages = vec![json!({"role": "system", "content": system_prompt(&mut words)})];
    let tools = tools();
    let mut request = json!({
        "model": model,
        "messages": [],
        "tools": tools,
        "tool_choice": "auto",
        "temperature": 0.2,
        "stream": stream,
    });
    let mut turn = 0usize;
    // Each turn adds one user question, and either a plain answer or a tool call with its
    // result; stop before the final question would overshoot.
    loop {
        let mut next = messages.clone();
        push_turn(&mut next, &mut words, turn);
        request["messages"] = Value::Array(next.clone());
        if request.to_string().len() + 300 > target {
            break;
        }
        messages = next;
        turn += 1;
    }
    messages.push(json!({"role": "user", "content": words.sentence(24)}));
    request["messages"] = Value::Array(messages);
    request.to_string()
}

fn push_turn(messages: &mut Vec<Value>, words: &mut Words, turn: usize) {
    messages.push(json!({"role": "user", "content": words.paragraph(2 + turn % 3)}));
    if turn.is_multiple_of(2) {
        let id = format!("call_{turn:04}");
        let path = format!("src/{}/{}.rs", words.word(), words.word());
        messages.push(json!({
            "role": "assistant",
            "content": words.sentence(12),
            "tool_calls": [{
                "id": id,
                "type": "function",
                "function": {"name": "read_file", "arguments": json!({"path": path}).to_string()},
            }],
        }));
        messages.push(
            json!({"role": "tool", "tool_call_id": id, "content": words.code(18 + turn % 7)}),
        );
    } else {
        messages.push(json!({"role": "assistant", "content": words.paragraph(3)}));
    }
}

fn system_prompt(words: &mut Words) -> String {
    let mut prompt = String::from(
        "You are a careful coding assistant working in the user's repository. Read files before \
         changing them, keep edits small, explain what you changed and why, and never invent \
         APIs. Rules:\n",
    );
    for rule in 1..=8 {
        prompt.push_str(&format!("{rule}. {}\n", words.sentence(14)));
    }
    prompt
}

fn tools() -> Value {
    let tool = |name: &str, description: &str, parameters: Value| json!({"type": "function", "function": {"name": name, "description": description, "parameters": parameters}});
    let path = json!({"type": "string", "description": "Path relative to the repository root."});
    json!([
        tool(
            "read_file",
            "Read a file of the repository and return its text with line numbers.",
            json!({"type": "object", "properties": {"path": path}, "required": ["path"]})
        ),
        tool(
            "write_file",
            "Replace a file's text. Use only after reading the file.",
            json!({"type": "object", "properties": {"path": path, "text": {"type": "string"}}, "required": ["path", "text"]})
        ),
        tool(
            "search",
            "Search the repository for a regular expression; returns matching lines.",
            json!({"type": "object", "properties": {"pattern": {"type": "string"}, "glob": {"type": "string"}}, "required": ["pattern"]})
        ),
        tool(
            "run",
            "Run a shell command in the repository and return its output (60 s limit).",
            json!({"type": "object", "properties": {"command": {"type": "string"}, "timeout_s": {"type": "integer", "minimum": 1}}, "required": ["command"]})
        ),
    ])
}

/// A tiny deterministic word source (xorshift64*).
struct Words {
    state: u64,
}

const WORDS: [&str; 64] = [
    "request", "router", "plugin", "adapter", "stream", "token", "budget", "account", "latency",
    "buffer", "config", "endpoint", "upstream", "retry", "policy", "model", "price", "cache",
    "header", "body", "chunk", "event", "parse", "encode", "limit", "window", "queue", "worker",
    "instance", "memory", "error", "status", "client", "server", "socket", "thread", "lock",
    "value", "field", "schema", "test", "build", "deploy", "metric", "trace", "span", "canary",
    "swap", "ledger", "credit", "hold", "settle", "key", "secret", "rotate", "route", "weight",
    "fallback", "timeout", "deadline", "format", "decode", "check", "report",
];

impl Words {
    fn new(seed: u64) -> Words {
        Words { state: seed.max(1) }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn word(&mut self) -> &'static str {
        WORDS[(self.next() % WORDS.len() as u64) as usize]
    }

    fn sentence(&mut self, words: usize) -> String {
        let mut text = String::new();
        for i in 0..words {
            let word = self.word();
            if i == 0 {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    text.extend(first.to_uppercase());
                    text.push_str(chars.as_str());
                }
            } else {
                text.push(' ');
                text.push_str(word);
            }
        }
        text.push('.');
        text
    }

    fn paragraph(&mut self, sentences: usize) -> String {
        (0..sentences)
            .map(|i| self.sentence(8 + i * 3 % 7))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Numbered lines of Rust-like code, as a `read_file` tool returns them.
    fn code(&mut self, lines: usize) -> String {
        let mut text = String::new();
        for line in 1..=lines {
            let (a, b, c) = (self.word(), self.word(), self.word());
            let body = match self.next() % 4 {
                0 => format!("    let {a}_{b} = self.{c}.get(\"{a}\")?;"),
                1 => format!("    // {a} the {b} before the {c} is checked"),
                2 => format!("    if {a}.{b}() {{ return Err(Error::{c}(\"{a}\\n\".into())); }}"),
                _ => format!("fn {a}_{b}(&mut self, {c}: &str) -> Result<(), Error> {{"),
            };
            text.push_str(&format!("{line:>4}\t{body}\n"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_about_right_and_deterministic() {
        for size in BodySize::ALL {
            let first = body("bench/model", size, false);
            assert_eq!(first, body("bench/model", size, false), "{size:?}");
            let target = size.target_bytes();
            assert!(
                first.len() * 10 <= target * 12 && first.len() * 10 >= target * 8,
                "{size:?}: {} bytes for {target}",
                first.len()
            );
        }
    }

    #[test]
    fn history_is_a_valid_chat_request_ending_with_the_user() {
        let text = body("bench/model", BodySize::Large, true);
        let request: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(request["model"], "bench/model");
        assert_eq!(request["stream"], true);
        assert_eq!(request["tools"].as_array().unwrap().len(), 4);
        let messages = request["messages"].as_array().unwrap();
        assert_eq!(messages[0]["role"], "system");
        assert_eq!(messages.last().unwrap()["role"], "user");
        assert!(messages.iter().any(|m| m["role"] == "tool"));
        // Every tool result answers the call just before it.
        for pair in messages.windows(2) {
            if pair[1]["role"] == "tool" {
                assert_eq!(
                    pair[0]["tool_calls"][0]["id"], pair[1]["tool_call_id"],
                    "{pair:?}"
                );
            }
        }
    }
}
