//! The most a chat request can cost: what a key's hold must cover before the first upstream
//! call. Every part of a request that can be billed is counted: the prompt (at least one token
//! per byte of the body, plus images and files the provider fetches by URL, those of tool
//! results and native blocks of the Anthropic extension included), every choice of `n`, the
//! larger of the two output limits a client may send, and the output limit of each candidate
//! endpoint; betas that lift the context window or raise the prices raise the hold with them; a
//! request for web search adds the most searches an adapter lets the upstream make.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use switchyard_sdk::openai::{ChatRequest, Content};
use switchyard_sdk::responses::{
    ContentPart, InputItem, MessageContent, RESPONSES_EXTENSION, ResponsesExtension,
};

use switchyard_catalog::{Endpoint, Model};
use switchyard_domain::pricing::anthropic_inputs::extension_inputs;
use switchyard_domain::pricing::{image_count, worst_case_cost, worst_case_searches};
use switchyard_sdk::web_search;

/// Most choices (`n`) one request may ask for (OpenAI's own limit).
pub const MAX_CHOICES: u64 = 128;

/// Prompt tokens assumed for one image given by URL: above what any provider bills for one
/// image at its highest detail (OpenAI ≤ 2,500, Anthropic ≤ 1,600, Gemini 258 per tile).
pub const IMAGE_URL_TOKENS: u64 = 4_096;

/// Prompt tokens assumed for one file given by URL (or by id) when the model declares no
/// context length; with one, the prompt is bounded by the context length instead.
pub const FILE_URL_TOKENS: u64 = 1_048_576;

/// Output tokens assumed when neither the request, the endpoint nor the model bounds them.
pub const UNBOUNDED_OUTPUT_TOKENS: u64 = 131_072;

/// The number of choices the request asks for (`n`, 1 when absent); an error message when `n`
/// is not an integer in `1..=MAX_CHOICES`.
pub fn choice_count(request: &ChatRequest) -> Result<u64, String> {
    match request.extra.get("n") {
        None | Some(Value::Null) => Ok(1),
        Some(n) => n
            .as_u64()
            .filter(|n| (1..=MAX_CHOICES).contains(n))
            .ok_or_else(|| format!("`n` must be an integer from 1 to {MAX_CHOICES}")),
    }
}

/// What of a request's prompt is billed but not in its body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Referenced {
    /// `image_url` parts whose URL is not a `data:` URI.
    images: u64,
    /// `file` parts whose data is not inline.
    files: u64,
}

/// The images and files of `request` the provider fetches (their tokens are not in the body).
fn referenced(request: &ChatRequest) -> Referenced {
    let mut found = Referenced::default();
    let parts = request
        .messages
        .iter()
        .filter_map(|message| match &message.content {
            Some(Content::Parts(parts)) => Some(parts),
            _ => None,
        })
        .flatten();
    for part in parts {
        if let Some(image) = &part.image_url {
            if !is_inline(&image.url) {
                found.images = found.images.saturating_add(1);
            }
        } else if part.kind == "file" {
            let data = part
                .extra
                .get("file")
                .and_then(|file| file.get("file_data"))
                .and_then(Value::as_str);
            if !data.is_some_and(is_inline) {
                found.files = found.files.saturating_add(1);
            }
        }
    }
    let tool_outputs = responses_tool_outputs(request);
    Referenced {
        images: found.images.saturating_add(tool_outputs.images),
        files: found.files.saturating_add(tool_outputs.files),
    }
}

/// The images and files by URL in the function call outputs a client sent through the Responses
/// API ([`RESPONSES_EXTENSION`]): a Responses upstream reads them, while the chat `messages`
/// carry only those outputs' text. (The extension's other items repeat what `messages` hold.)
fn responses_tool_outputs(request: &ChatRequest) -> Referenced {
    let mut found = Referenced::default();
    let Some(extension) = request
        .extra
        .get(RESPONSES_EXTENSION)
        .and_then(|value| ResponsesExtension::deserialize(value).ok())
    else {
        return found;
    };
    let parts = extension
        .input
        .iter()
        .filter_map(|item| match item {
            InputItem::FunctionCallOutput(call) => match &call.output {
                MessageContent::Parts(parts) => Some(parts),
                MessageContent::Text(_) => None,
            },
            _ => None,
        })
        .flatten();
    for part in parts {
        match part {
            ContentPart::InputImage(image) if !is_inline(&image.image_url) => {
                found.images = found.images.saturating_add(1);
            }
            ContentPart::InputFile(file) if !file.file_data.as_deref().is_some_and(is_inline) => {
                found.files = found.files.saturating_add(1);
            }
            _ => {}
        }
    }
    found
}

/// The larger of the request's two output limits: an upstream may honour either when both are
/// sent (`max_tokens` on servers that ignore `max_completion_tokens`).
fn largest_output_limit(request: &ChatRequest) -> Option<u64> {
    match (request.max_completion_tokens, request.max_tokens) {
        (Some(completion), Some(tokens)) => Some(completion.max(tokens)),
        (completion, tokens) => completion.or(tokens),
    }
}

/// Whether `url` carries its data inline (counted with the body's bytes).
fn is_inline(url: &str) -> bool {
    url.get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
}

/// The most `request` (whose body is `body_bytes` long) can cost on any of `candidates`, fee
/// included; `None` when that is too large to be money. `searching`: the model may search the
/// web (asked for or offered), up to the most searches an adapter lets it make.
pub fn worst_case_hold<'a>(
    request: &ChatRequest,
    body_bytes: usize,
    searching: bool,
    candidates: impl Iterator<Item = (&'a Model, &'a Endpoint)>,
    fee_percent: Decimal,
) -> Option<Decimal> {
    let choices = choice_count(request).unwrap_or(MAX_CHOICES);
    let referenced = referenced(request);
    let extension = extension_inputs(request);
    let images = image_count(request);
    let url_images = referenced.images.saturating_add(extension.images);
    let url_files = referenced.files.saturating_add(extension.files);
    // A token is at least one byte of the body.
    let body_tokens = u64::try_from(body_bytes).unwrap_or(u64::MAX);
    let searches = match searching {
        true => web_search::max_searches(request),
        false => 0,
    };
    candidates
        .map(|(model, endpoint)| {
            // A beta may lift the model's context window.
            let context = match (model.context_length, extension.lifted_context) {
                (Some(context), Some(lifted)) => Some(context.max(lifted)),
                (context, _) => context,
            };
            let files = url_files.saturating_mul(context.unwrap_or(FILE_URL_TOKENS));
            let prompt = body_tokens
                .saturating_add(url_images.saturating_mul(IMAGE_URL_TOKENS))
                .saturating_add(files);
            // No provider reads a prompt longer than the model's context.
            let prompt = context.map_or(prompt, |context| prompt.min(context));
            let output = [
                largest_output_limit(request),
                endpoint.max_output_tokens,
                context,
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(UNBOUNDED_OUTPUT_TOKENS)
            .saturating_mul(choices);
            let searching = worst_case_searches(searches, &endpoint.prices, fee_percent);
            worst_case_cost(prompt, output, images, &endpoint.prices, fee_percent)
                .and_then(|cost| cost.checked_mul(extension.price_factor))
                .and_then(|cost| cost.checked_add(searching?))
        })
        .try_fold(Decimal::ZERO, |worst, cost| Some(worst.max(cost?)))
}

/// The most a request that only reads input (embeddings: a body of `body_bytes`, no output)
/// can cost on any of `candidates`, fee included; `None` when that is too large to be money.
pub fn worst_case_input_hold<'a>(
    body_bytes: usize,
    candidates: impl Iterator<Item = (&'a Model, &'a Endpoint)>,
    fee_percent: Decimal,
) -> Option<Decimal> {
    // A token is at least one byte of the body.
    let body_tokens = u64::try_from(body_bytes).unwrap_or(u64::MAX);
    candidates
        .map(|(model, endpoint)| {
            let prompt = model
                .context_length
                .map_or(body_tokens, |context| body_tokens.min(context));
            worst_case_cost(prompt, 0, 0, &endpoint.prices, fee_percent)
        })
        .try_fold(Decimal::ZERO, |worst, cost| Some(worst.max(cost?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(value: serde_json::Value) -> ChatRequest {
        serde_json::from_value(value).expect("request")
    }

    #[test]
    fn n_is_counted_and_capped() {
        let base = json!({ "model": "m", "messages": [{ "role": "user", "content": "hi" }] });
        assert_eq!(choice_count(&request(base.clone())), Ok(1));
        let with_n = |n: serde_json::Value| {
            let mut body = base.clone();
            body["n"] = n;
            choice_count(&request(body))
        };
        assert_eq!(with_n(json!(128)), Ok(128));
        assert!(with_n(json!(129)).is_err());
        assert!(with_n(json!(0)).is_err());
        assert!(with_n(json!(-1)).is_err());
        assert!(with_n(json!("2")).is_err());
    }

    #[test]
    fn images_and_files_by_url_are_referenced_inline_data_is_not() {
        let found = referenced(&request(json!({
            "model": "m",
            "messages": [{ "role": "user", "content": [
                { "type": "text", "text": "look" },
                { "type": "image_url", "image_url": { "url": "https://example.com/a.png" } },
                { "type": "image_url", "image_url": { "url": "DATA:image/png;base64,AAAA" } },
                { "type": "file", "file": { "filename": "a.pdf", "file_data": "https://example.com/a.pdf" } },
                { "type": "file", "file": { "file_id": "file-abc" } },
                { "type": "file", "file": { "file_data": "data:application/pdf;base64,AAAA" } },
            ] }],
        })));
        assert_eq!(
            found,
            Referenced {
                images: 1,
                files: 2
            }
        );
    }

    #[test]
    fn images_and_files_in_responses_tool_outputs_are_referenced() {
        let found = referenced(&request(json!({
            "model": "m",
            "messages": [{ "role": "tool", "tool_call_id": "c", "content": "chart" }],
            "openai_responses": { "input": [
                { "type": "function_call_output", "call_id": "c", "output": [
                    { "type": "input_text", "text": "chart" },
                    { "type": "input_image", "image_url": "https://example.com/chart.png" },
                    { "type": "input_image", "image_url": "data:image/png;base64,AAAA" },
                    { "type": "input_file", "file_url": "https://example.com/data.csv" },
                ] },
            ] },
        })));
        assert_eq!(
            found,
            Referenced {
                images: 1,
                files: 1
            }
        );
    }
}
