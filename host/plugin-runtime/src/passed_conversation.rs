//! The conversation an adapter passes through untouched (`passes-conversation`, contract
//! 0.5.0): the adapter is handed the canonical request with `messages` and `tools` as empty
//! lists, and the client's lists are put back into the body it returns. A long conversation
//! (an agent's prompt is 50–200 KB) is then never copied into the sandbox, parsed and written
//! again there, nor copied back out: the host reads the request's top-level fields once, without
//! reading the conversation into values, and writes the upstream body in one pass.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The top-level fields an adapter that passes the conversation through is never handed.
const PASSED_FIELDS: [&str; 2] = ["messages", "tools"];

/// What a passed field is replaced by in the request the adapter reads.
const PLACEHOLDER: &[u8] = b"[]";

/// A canonical request split for an adapter that passes the conversation through.
pub(crate) struct SplitRequest<'a> {
    /// The request with each passed field the client sent as `[]`: what the adapter reads.
    pub head: Vec<u8>,
    /// The client's value of each field of [`PASSED_FIELDS`], as its JSON text.
    passed: [Option<&'a RawValue>; 2],
}

/// Splits `request`, or `None` when it is not a JSON object (the adapter is then handed it as it
/// is, and refuses it).
pub(crate) fn split(request: &[u8]) -> Option<SplitRequest<'_>> {
    let TopLevel(fields) = serde_json::from_slice(request).ok()?;
    let mut passed = [None; 2];
    let mut head = Vec::with_capacity(256);
    // A passed field sent as `null` is left out, as a typed reading of the request would.
    let sent =
        (fields.iter()).filter(|(key, value)| passed_index(key).is_none() || value.get() != "null");
    write_object(
        &mut head,
        sent.map(|(key, value)| match passed_index(key) {
            Some(index) => {
                passed[index] = Some(*value);
                (key.as_ref(), PLACEHOLDER)
            }
            None => (key.as_ref(), value.get().as_bytes()),
        }),
    );
    Some(SplitRequest { head, passed })
}

impl SplitRequest<'_> {
    /// The upstream body: the adapter's `body` with the client's value in place of each passed
    /// field the adapter wrote. A field the adapter left out stays out; one the client did not
    /// send keeps the adapter's value. The error says why `body` cannot take them: the adapter
    /// broke the contract.
    pub fn splice(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        let TopLevel(fields) = serde_json::from_slice(body).map_err(|error| {
            format!(
                "declares `passes-conversation` but built a request body that is not a JSON \
                 object: {error}"
            )
        })?;
        let passed_bytes: usize = self.passed.iter().flatten().map(|v| v.get().len()).sum();
        let mut spliced = Vec::with_capacity(body.len() + passed_bytes);
        write_object(
            &mut spliced,
            fields.iter().map(|(key, value)| {
                let client = passed_index(key).and_then(|index| self.passed[index]);
                (key.as_ref(), client.unwrap_or(value).get().as_bytes())
            }),
        );
        Ok(spliced)
    }
}

/// The index of `key` in [`PASSED_FIELDS`].
fn passed_index(key: &str) -> Option<usize> {
    PASSED_FIELDS.iter().position(|field| *field == key)
}

/// Writes a JSON object of `fields`, each value already JSON text.
fn write_object<'f>(out: &mut Vec<u8>, fields: impl Iterator<Item = (&'f str, &'f [u8])>) {
    out.push(b'{');
    for (index, (key, value)) in fields.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        out.extend_from_slice(value);
    }
    out.push(b'}');
}

/// A JSON object's top-level fields in order, each value kept as its JSON text: checked, not
/// read into values.
struct TopLevel<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopLevelVisitor)
    }
}

/// Reads a [`TopLevel`].
struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(16);
        while let Some(Key(key)) = map.next_key()? {
            fields.push((key, map.next_value()?));
        }
        Ok(TopLevel(fields))
    }
}

/// An object key, borrowed from the input unless it has escapes.
#[derive(Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const REQUEST: &str = r#"{"model":"m","messages":[{"role":"user","content":"caf\u00e9 \"q\""}],"stream":true,"tools":[{"type":"function","function":{"name":"f"}}],"temperature":0.5}"#;

    fn json(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("JSON")
    }

    #[test]
    fn the_adapter_reads_the_request_without_the_conversation() {
        let split = split(REQUEST.as_bytes()).expect("an object");
        assert_eq!(
            json(&split.head),
            json!({"model": "m", "messages": [], "stream": true, "tools": [], "temperature": 0.5})
        );
    }

    #[test]
    fn the_clients_conversation_goes_back_byte_for_byte_where_the_adapter_wrote_its_own() {
        let split = split(REQUEST.as_bytes()).expect("an object");
        let body = br#"{"model":"up","tools":[],"messages":[{"role":"user","content":"forged"}],"stream_options":{"include_usage":true}}"#;
        let spliced = split.splice(body).expect("spliced");
        let text = String::from_utf8(spliced).expect("UTF-8");
        assert_eq!(
            text,
            r#"{"model":"up","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"caf\u00e9 \"q\""}],"stream_options":{"include_usage":true}}"#
        );
    }

    #[test]
    fn a_field_the_adapter_leaves_out_stays_out_and_one_the_client_did_not_send_is_the_adapters() {
        let split = split(br#"{"model":"m","messages":[1]}"#).expect("an object");
        assert_eq!(json(&split.head), json!({"model": "m", "messages": []}));
        let spliced = split
            .splice(br#"{"model":"up","tools":[{"type":"web_search"}]}"#)
            .expect("spliced");
        assert_eq!(
            json(&spliced),
            json!({"model": "up", "tools": [{"type": "web_search"}]})
        );
    }

    #[test]
    fn null_tools_are_left_out_as_if_not_sent() {
        let split = split(br#"{"model":"m","messages":[1],"tools":null}"#).expect("an object");
        assert_eq!(json(&split.head), json!({"model": "m", "messages": []}));
        let spliced = split
            .splice(br#"{"model":"up","messages":[]}"#)
            .expect("spliced");
        assert_eq!(json(&spliced), json!({"model": "up", "messages": [1]}));
    }

    #[test]
    fn keys_with_escapes_are_written_back_escaped() {
        let split = split(br#"{"a\"b":1,"messages":[2]}"#).expect("an object");
        assert_eq!(json(&split.head), json!({"a\"b": 1, "messages": []}));
        let spliced = split.splice(&split.head).expect("spliced");
        assert_eq!(json(&spliced), json!({"a\"b": 1, "messages": [2]}));
    }

    #[test]
    fn a_request_that_is_not_an_object_is_not_split() {
        for request in [&b"[1]"[..], b"not json", b"{\"messages\":[}", b""] {
            assert!(split(request).is_none(), "{request:?}");
        }
    }

    #[test]
    fn a_body_that_is_not_an_object_breaks_the_contract() {
        let split = split(REQUEST.as_bytes()).expect("an object");
        for body in [&b"<xml/>"[..], b"[]", b"\"text\""] {
            let error = split.splice(body).expect_err("refused");
            assert!(error.contains("passes-conversation"), "{error}");
        }
    }
}
