//! Anthropic's citations as the canonical `text_citations` ([`TextCitations`]): each text block
//! that has a `citations` list becomes an entry naming where the block lies in the message's
//! `content`, with the citations kept whole. Streamed, a cited block opens with an entry, each
//! `citations_delta` adds one, and `content_block_stop` closes it with its end.

use std::collections::{HashMap, HashSet};

use crate::provider::TextCitations;
use serde_json::Value;

/// The length of `text` in the unit of `text_citations` offsets: Unicode scalar values.
pub fn length(text: &str) -> u64 {
    text.chars().count() as u64
}

/// A whole text block lying at `start..end` of the content: its entry when it has a
/// `citations` list.
pub fn whole(block: &Value, start: u64, end: u64) -> Option<TextCitations> {
    let citations = block.get("citations")?.as_array()?;
    Some(TextCitations {
        start,
        end: Some(end),
        citations: citations.clone(),
    })
}

/// Where a stream's text blocks start in the content, and which of them are cited.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Text forwarded so far, in offset units.
    length: u64,
    /// Content block index → start offset, for the text blocks still open.
    starts: HashMap<u64, u64>,
    /// The open text blocks that carry citations.
    cited: HashSet<u64>,
}

impl Tracker {
    /// Text block `index` starts (`content_block_start`); the entry opening it when it has a
    /// `citations` list.
    pub fn start(&mut self, index: u64, block: &Value) -> Option<TextCitations> {
        self.starts.insert(index, self.length);
        let citations = block.get("citations")?.as_array()?;
        self.cited.insert(index);
        Some(TextCitations {
            start: self.length,
            end: None,
            citations: citations.clone(),
        })
    }

    /// Text was forwarded.
    pub fn text(&mut self, text: &str) {
        self.length = self.length.saturating_add(length(text));
    }

    /// A `citations_delta` of block `index`: the entry adding `citation` to it.
    pub fn citation(&mut self, index: u64, citation: &Value) -> TextCitations {
        let start = *self.starts.entry(index).or_insert(self.length);
        self.cited.insert(index);
        TextCitations {
            start,
            end: None,
            citations: vec![citation.clone()],
        }
    }

    /// Block `index` ends (`content_block_stop`): the entry closing it when it is cited.
    pub fn stop(&mut self, index: u64) -> Option<TextCitations> {
        let start = self.starts.remove(&index)?;
        self.cited.remove(&index).then(|| TextCitations {
            start,
            end: Some(self.length),
            citations: Vec::new(),
        })
    }
}
