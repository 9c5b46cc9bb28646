//! Tool names and tool ids across the two formats: names longer than the 64 characters chat
//! providers accept are shortened deterministically (and restored in the answer), and tool ids
//! coming back from any provider are made to fit Anthropic's `^[a-zA-Z0-9_-]+$`.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// The longest tool name chat providers accept.
pub const MAX_TOOL_NAME: usize = 64;

/// Characters of the original name kept in a shortened one (the rest is `_` and a hash).
const KEPT: usize = MAX_TOOL_NAME - 17;

/// `name` as sent upstream: unchanged when short enough, else its first 47 characters, `_` and
/// 16 hex digits of its SHA-256, so the same long name always gets the same short one.
pub fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_TOOL_NAME {
        return name.to_owned();
    }
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let kept: String = name.chars().take(KEPT).collect();
    format!("{kept}_{hash}")
}

/// Maps the names sent upstream back to the client's names.
#[derive(Debug, Clone, Default)]
pub struct ToolNames {
    shortened: HashMap<String, String>,
}

impl ToolNames {
    /// Shortens `name` for upstream, remembering the original.
    pub fn upstream(&mut self, name: &str) -> String {
        let short = shorten(name);
        if short != name {
            self.shortened.insert(short.clone(), name.to_owned());
        }
        short
    }

    /// The client's name for a name the upstream used.
    pub fn client<'a>(&'a self, name: &'a str) -> &'a str {
        self.shortened.get(name).map_or(name, String::as_str)
    }
}

/// A tool id an Anthropic client accepts: characters outside `[a-zA-Z0-9_-]` become `_`; an
/// empty id becomes `toolu_<position>`.
pub fn client_tool_id(id: &str, position: usize) -> String {
    if id.is_empty() {
        return format!("toolu_{position}");
    }
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_shortened_stably_and_restored() {
        let long = format!("mcp__server__{}", "very_long_tool_name_".repeat(5));
        let mut names = ToolNames::default();
        let short = names.upstream(&long);
        assert_eq!(short.len(), MAX_TOOL_NAME);
        assert_eq!(short, shorten(&long));
        assert!(short.starts_with("mcp__server__very"));
        assert_eq!(names.client(&short), long);
        assert_eq!(names.upstream("Bash"), "Bash");
        assert_eq!(names.client("Bash"), "Bash");
        let other = format!("{long}x");
        assert_ne!(shorten(&other), short);
    }

    #[test]
    fn tool_ids_fit_anthropics_charset() {
        assert_eq!(client_tool_id("toolu_01AbC-d", 0), "toolu_01AbC-d");
        assert_eq!(
            client_tool_id("functions.get_weather:0", 0),
            "functions_get_weather_0"
        );
        assert_eq!(client_tool_id("", 3), "toolu_3");
    }
}
