//! Switchyard provider adapter for the Google Gemini API (`generateContent` and
//! `streamGenerateContent?alt=sse`, `https://generativelanguage.googleapis.com/v1beta`).
//!
//! # Requests
//!
//! `POST <base_url>/models/<upstream_model>:generateContent`, or
//! `:streamGenerateContent?alt=sse` for streams. The credential goes in the `x-goog-api-key`
//! header (the host inserts it). The canonical conversation becomes `contents` of `parts`:
//! - system and developer messages → `systemInstruction`;
//! - user messages → `user` turns; `image_url` parts → `inlineData` (data URIs) or `fileData`
//!   (URLs, MIME type guessed from the extension);
//! - assistant messages → `model` turns; tool calls → `functionCall` parts with object `args`;
//! - tool messages → `functionResponse` parts (the function name is looked up from the call id),
//!   consecutive ones in one `user` turn; a JSON-object result is sent as the response, anything
//!   else as `{"result": ...}`.
//!
//! Sampling and limits go to `generationConfig`: `temperature`, `top_p` → `topP`, `top_k` →
//! `topK`, `max_tokens`/`max_completion_tokens` → `maxOutputTokens`, `stop` → `stopSequences`,
//! `seed`, `presence_penalty`, `frequency_penalty`, `n` → `candidateCount` (only the first
//! candidate is returned). `response_format` `json_object` → `responseMimeType:
//! application/json`; `json_schema` adds `responseSchema` (the schema reduced to the OpenAPI
//! subset Gemini accepts). `tools` → `functionDeclarations`; `tool_choice` auto/none/required/named
//! → `toolConfig.functionCallingConfig` `AUTO`/`NONE`/`ANY`/`ANY` + `allowedFunctionNames`.
//! OpenRouter's `reasoning` → `thinkingConfig`: `max_tokens` → `thinkingBudget`; `effort`
//! xhigh or max/high/medium/low/minimal → 95/80/50/20/10 % of the output limit (or
//! 24576/24576/8192/2048/512 tokens without one); `effort: none` or `enabled: false` → budget 0; `exclude: true` →
//! `includeThoughts: false`, otherwise thoughts are included.
//!
//! # Responses and streams
//!
//! Text parts → `content`, `thought: true` parts → `reasoning`, `functionCall` parts →
//! `tool_calls`. Gemini gives no call ids, so ids are synthesised as `call_<n>`, `n` counting the
//! calls of the response from 0; they are stable for a given response. A part's
//! `thoughtSignature` → a `reasoning_details` entry (`reasoning.encrypted`, format
//! `google-gemini-v1`, `id` = the call it signs); sent back, it goes on that call's part again
//! (else the documented skip value). `finishReason` is
//! normalised (`STOP` → stop, or tool_calls when the response called a tool; `MAX_TOKENS` →
//! length; `SAFETY`, `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII`, `IMAGE_SAFETY`... →
//! content_filter; `MALFORMED_FUNCTION_CALL`, `UNEXPECTED_TOOL_CALL` → error; anything else →
//! stop) with the native reason kept. Usage: prompt = `promptTokenCount` +
//! `toolUsePromptTokenCount`, completion = `candidatesTokenCount` + `thoughtsTokenCount`, cached =
//! `cachedContentTokenCount`, reasoning = `thoughtsTokenCount`.
//!
//! **End of stream.** Gemini's SSE stream (CRLF-framed) has no `[DONE]`: every event is a whole
//! `GenerateContentResponse` with cumulative `usageMetadata`. The decoder treats the first event
//! whose candidate carries a `finishReason` as the terminal one: it emits the finish chunk,
//! reports the usage of that event, and sets `done`. A stream that closes before such an event is
//! therefore incomplete (the host turns it into an error, never a `stop`). Vertex AI streamed
//! function arguments (`partialArgs` + `willContinue`) are assembled and emitted as one argument
//! fragment when the call ends.
//!
//! Errors are google.rpc bodies (`{"error": {"code", "message", "status", "details"}}`):
//! `RESOURCE_EXHAUSTED` → rate-limited with the `RetryInfo.retryDelay` (or `retry-after`),
//! `UNAUTHENTICATED`/`PERMISSION_DENIED` and `API_KEY_INVALID` → auth, `INVALID_ARGUMENT`,
//! `FAILED_PRECONDITION`, `NOT_FOUND`, `OUT_OF_RANGE` → invalid request (or context length
//! exceeded when the message says the input is too long), `UNAVAILABLE` → overloaded, other
//! statuses by HTTP code. A prompt blocked by `promptFeedback.blockReason` is content-filtered.
//!
//! # Embeddings
//!
//! `POST <base_url>/models/<upstream_model>:batchEmbedContents` with one request per input text
//! (`content.parts[].text`), `dimensions` → `outputDimensionality` and `input_type` → `taskType`
//! (`search_document` → `RETRIEVAL_DOCUMENT`, `search_query` → `RETRIEVAL_QUERY`,
//! `classification`, `clustering`, or one of Gemini's task types in any case); the answer's
//! `embeddings[].values` become the vectors, in input order. Token-id inputs are refused (invalid
//! request). Gemini reports no usage for embeddings: the host charges an estimate and records it
//! as estimated.
//!
//! # Endpoint options
//!
//! | option | value | effect |
//! |---|---|---|
//! | `auth` | `x-goog-api-key` (default), `bearer`, `query` or `none` | credential in the `x-goog-api-key` header, `Authorization: Bearer` (Vertex AI access tokens), the `key` query parameter, or none |
//! | `header.<name>` | any | send the static header `<name>: <value>` upstream |
//!
//! An unknown option or an invalid value makes `build-request` fail with an internal error
//! naming the option.

mod options;

use switchyard_sdk::gemini::{embeddings, error, request, response};
use switchyard_sdk::provider::*;

pub use switchyard_sdk::gemini::GeminiDecoder;

use options::Options;
/// The Google Gemini provider adapter.
pub struct Gemini;

/// Request parameters the adapter translates.
const SUPPORTED_PARAMETERS: &[&str] = switchyard_sdk::gemini::SUPPORTED_PARAMETERS;

impl Provider for Gemini {
    type Decoder = GeminiDecoder;

    fn describe() -> Descriptor {
        Descriptor::builder("gemini", "0.1.0")
            .allowed_hosts(&["generativelanguage.googleapis.com"])
            .streaming()
            .tools()
            .vision()
            .json_schema()
            .reasoning()
            .supported_parameters(SUPPORTED_PARAMETERS)
            .build()
    }

    fn build_request(
        request: ChatRequest,
        endpoint: EndpointSettings,
        stream: bool,
    ) -> Result<HttpRequest, PluginError> {
        switchyard_sdk::fields::refuse_unserved(&request, "gemini", SUPPORTED_PARAMETERS)?;
        let options = Options::parse(&endpoint)?;
        let body = request::body(&request)?;
        let model = endpoint.upstream_model.trim_start_matches("models/");
        let method = request::method(stream);
        json_post(
            join_url(&endpoint.base_url, &format!("models/{model}:{method}")),
            &body,
            options.headers,
            options.credential,
        )
    }

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        response::parse(&response)
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        error::from_response(&response)
    }

    const EMBEDDINGS: bool = true;

    fn build_embeddings_request(
        request: EmbeddingsRequest,
        endpoint: EndpointSettings,
    ) -> Result<HttpRequest, PluginError> {
        let options = Options::parse(&endpoint)?;
        let model = endpoint.upstream_model.trim_start_matches("models/");
        json_post(
            join_url(
                &endpoint.base_url,
                &format!("models/{model}:batchEmbedContents"),
            ),
            &embeddings::body(&request, model)?,
            options.headers,
            options.credential,
        )
    }

    fn parse_embeddings_response(response: HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
        embeddings::parse(&response)
    }
}

switchyard_sdk::export_provider!(Gemini);
