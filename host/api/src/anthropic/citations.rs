//! The canonical `text_citations` ([`TextCitations`]) in Anthropic's shape: a message's text
//! split back into the text blocks the upstream cited, each with its `citations`.

use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_sdk::openai::TextCitations;

/// The entries of a message's or a delta's `text_citations`; none when absent or malformed.
pub fn entries(carrier: &Value) -> Vec<TextCitations> {
    carrier
        .get("text_citations")
        .and_then(|entries| Vec::<TextCitations>::deserialize(entries).ok())
        .unwrap_or_default()
}

/// `text` as text blocks: split where the cited blocks of `cited` start and end (character
/// offsets), each cited block with its `citations`. Entries without an end, ending before they
/// start or overlapping an earlier one are ignored; no entries give one block.
pub fn text_blocks(text: &str, mut cited: Vec<TextCitations>) -> Vec<Value> {
    let bytes: Vec<usize> = text.char_indices().map(|(at, _)| at).collect();
    let byte = |offset: u64| {
        usize::try_from(offset)
            .ok()
            .and_then(|offset| bytes.get(offset).copied())
            .unwrap_or(text.len())
    };
    cited.sort_by_key(|entry| entry.start);
    let mut blocks = Vec::new();
    let mut cursor = 0;
    for entry in cited {
        let (start, Some(end)) = (byte(entry.start), entry.end.map(byte)) else {
            continue;
        };
        if start < cursor || end < start {
            continue;
        }
        if start > cursor {
            blocks.push(json!({"type": "text", "text": &text[cursor..start]}));
        }
        blocks
            .push(json!({"type": "text", "text": &text[start..end], "citations": entry.citations}));
        cursor = end;
    }
    if cursor < text.len() {
        blocks.push(json!({"type": "text", "text": &text[cursor..]}));
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(start: u64, end: Option<u64>, citation: &str) -> TextCitations {
        TextCitations {
            start,
            end,
            citations: vec![json!({"type": "char_location", "cited_text": citation})],
        }
    }

    #[test]
    fn text_splits_at_character_offsets_around_the_cited_blocks() {
        let text = "Per the docs — grass is green and sky is blue.";
        let blocks = text_blocks(
            text,
            vec![entry(34, Some(45), "sky"), entry(15, Some(29), "grass")],
        );
        let texts: Vec<&str> = blocks
            .iter()
            .map(|b| b["text"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            texts,
            [
                "Per the docs — ",
                "grass is green",
                " and ",
                "sky is blue",
                "."
            ]
        );
        assert_eq!(blocks[1]["citations"][0]["cited_text"], "grass");
        assert_eq!(blocks[3]["citations"][0]["cited_text"], "sky");
        assert!(blocks[0].get("citations").is_none());
    }

    #[test]
    fn open_overlapping_or_absent_entries_leave_the_text_whole() {
        let whole = vec![json!({"type": "text", "text": "abc"})];
        assert_eq!(text_blocks("abc", Vec::new()), whole);
        assert_eq!(text_blocks("abc", vec![entry(1, None, "x")]), whole);
        let blocks = text_blocks("abcd", vec![entry(0, Some(3), "x"), entry(1, Some(2), "y")]);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0]["citations"][0]["cited_text"], "x");
        assert_eq!(entries(&json!({"text_citations": "nonsense"})), Vec::new());
    }
}
