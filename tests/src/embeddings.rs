//! The mock's OpenAI embeddings endpoint (`POST /{scenario}/v1/embeddings`, Mistral's too): a
//! deterministic answer computed from the request, in OpenAI's shape (one `embedding` object per
//! input, in order, with `index`; `dimensions` or Mistral's `output_dimension` numbers; floats,
//! or base64 little-endian `f32` when `encoding_format` is `base64`; `usage.prompt_tokens`
//! counts whitespace-separated words, or token ids).

use serde_json::{Value, json};

/// Vector length when the request sets no `dimensions`.
pub const DEFAULT_DIMENSIONS: usize = 8;

/// The answer to an embeddings request, or why the request is malformed.
pub fn answer(request: Option<&Value>) -> Result<Value, String> {
    let request = request.ok_or("the body is not JSON")?;
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .ok_or("`model` is missing")?;
    let inputs: Vec<(String, u64)> = match request.get("input") {
        Some(Value::String(text)) => vec![(text.clone(), words(text))],
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|text| (text.to_owned(), words(text)))
            .collect(),
        Some(Value::Array(items)) if items.iter().all(Value::is_u64) => {
            vec![(Value::Array(items.clone()).to_string(), items.len() as u64)]
        }
        Some(Value::Array(items)) if items.iter().all(Value::is_array) => items
            .iter()
            .map(|tokens| {
                let count = tokens.as_array().map_or(0, Vec::len) as u64;
                (tokens.to_string(), count)
            })
            .collect(),
        _ => return Err("`input` is not a string, strings or token arrays".to_owned()),
    };
    let dimensions = dimensions(request, &["dimensions", "output_dimension"]);
    let base64 = request.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, (text, _))| {
            let vector = vector(text, dimensions);
            let embedding = if base64 {
                json!(encode_base64(&vector))
            } else {
                json!(vector)
            };
            json!({ "object": "embedding", "index": index, "embedding": embedding })
        })
        .collect();
    let tokens: u64 = inputs.iter().map(|(_, count)| count).sum();
    Ok(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": { "prompt_tokens": tokens, "total_tokens": tokens },
    }))
}

/// The vector the mock gives `text`: deterministic, component `i` in (-1, 1).
pub fn vector(text: &str, dimensions: usize) -> Vec<f32> {
    let mut state = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    (0..dimensions)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// The vector length a request asks for under the first of `fields` it sets (numbers), else
/// [`DEFAULT_DIMENSIONS`].
pub(crate) fn dimensions(request: &Value, fields: &[&str]) -> usize {
    fields
        .iter()
        .find_map(|field| request.get(*field).and_then(Value::as_u64))
        .map_or(DEFAULT_DIMENSIONS, |d| d as usize)
}

/// The mock's token count of a text: its whitespace-separated words (at least one).
pub(crate) fn words(text: &str) -> u64 {
    text.split_whitespace().count().max(1) as u64
}

fn encode_base64(vector: &[f32]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_vector_per_input_in_order_with_the_requested_size() {
        let answer = answer(Some(
            &json!({"model": "m", "input": ["a b", "c"], "dimensions": 3}),
        ))
        .expect("valid");
        assert_eq!(answer["data"][1]["index"], 1);
        assert_eq!(
            answer["data"][0]["embedding"].as_array().map(Vec::len),
            Some(3)
        );
        assert_eq!(answer["usage"]["prompt_tokens"], 3);
        assert_ne!(
            answer["data"][0]["embedding"],
            answer["data"][1]["embedding"]
        );
    }

    #[test]
    fn base64_is_little_endian_f32() {
        assert_eq!(encode_base64(&[1.0, -2.5]), "AACAPwAAIMA=");
    }
}
