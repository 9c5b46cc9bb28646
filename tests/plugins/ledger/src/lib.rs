//! A test adapter for "Ledger", an invented batch-style API that cannot stream, written as a
//! third party would with the SDK: `POST {base}/generate` takes
//! `{"model", "prompt": [{"speaker", "text"}], "max_output", "temperature"}` and answers only
//! whole JSON, `{"result": {"text", "stop": "end" | "limit"}, "metering": {"input", "output"}}`.
//! Errors come in its own shape, `{"fault": {"kind", "detail"}}`: kind `quota` (429, with
//! `retry-after`) and `overloaded` (a 500). The upstream has no log probabilities, so a request
//! asking for them is `unsupported` here (another endpoint may serve it).

use serde_json::{Value, json};
use switchyard_sdk::provider::*;

/// The adapter.
pub struct Ledger;

impl Provider for Ledger {
    // No streaming: the host asks for whole answers and streams them to clients itself.
    type Decoder = NoStream;

    fn describe() -> Descriptor {
        Descriptor::builder("ledger", "0.1.0")
            .supported_parameters(&["temperature", "max_tokens", "max_completion_tokens"])
            .build()
    }

    fn build_request(
        request: ChatRequest,
        endpoint: EndpointSettings,
        stream: bool,
    ) -> Result<HttpRequest, PluginError> {
        if stream {
            // The host must never ask: the descriptor declares no streaming.
            return Err(PluginError::Internal("ledger cannot stream".to_owned()));
        }
        if request.extra.get("logprobs") == Some(&Value::Bool(true)) {
            return Err(PluginError::Unsupported(
                "ledger cannot return log probabilities".to_owned(),
            ));
        }
        let prompt: Vec<Value> = (request.messages.iter())
            .map(|message| {
                let speaker = serde_json::to_value(message.role).unwrap_or(Value::Null);
                let text = message.content.as_ref().map(Content::text);
                json!({"speaker": speaker, "text": text.unwrap_or_default()})
            })
            .collect();
        let body = json!({
            "model": endpoint.upstream_model,
            "prompt": prompt,
            "max_output": request.output_token_limit(),
            "temperature": request.temperature,
        });
        json_post(
            join_url(&endpoint.base_url, "generate"),
            &body,
            Vec::new(),
            CredentialPlacement::Bearer,
        )
    }

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        let body: Value = parse_json(&response.body)?;
        let Some(text) = body.pointer("/result/text").and_then(Value::as_str) else {
            return Err(PluginError::UpstreamUnavailable(
                "a ledger answer without a result".to_owned(),
            ));
        };
        let native = (body.pointer("/result/stop").and_then(Value::as_str)).unwrap_or("end");
        let reason = match native {
            "limit" => FinishReason::Length,
            _ => FinishReason::Stop,
        };
        let finish = Finish::new(reason, native);
        // Usage travels typed, never in the body.
        let count = |key: &str| {
            body.pointer(&format!("/metering/{key}"))
                .and_then(Value::as_u64)
        };
        let usage = count("input").zip(count("output"));
        ParsedResponse::text(
            text,
            usage.map(|(input, output)| Usage::tokens(input, output)),
            finish,
        )
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        error_from_report(&response, |body| ErrorReport {
            message: body["fault"]["detail"].as_str().map(str::to_owned),
            kind: match body["fault"]["kind"].as_str() {
                Some("quota") => Some(ErrorKind::RateLimited),
                Some("overloaded") => Some(ErrorKind::Overloaded),
                Some("invalid") => Some(ErrorKind::InvalidRequest),
                Some("denied") => Some(ErrorKind::Auth),
                _ => None,
            },
        })
    }
}

switchyard_sdk::export_provider!(Ledger);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::testing;

    #[test]
    fn passes_the_conformance_kit_on_its_recorded_exchanges() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let endpoint = EndpointSettings {
            base_url: "https://ledger.example/v1".to_owned(),
            upstream_model: "ledger-large".to_owned(),
            options: Vec::new(),
        };
        let report = testing::conformance::<Ledger>(&fixtures, &endpoint).unwrap();
        assert!(report.passed(), "{}", report.table());
        assert_eq!(report.fixtures.len(), 7, "{}", report.table());
    }
}
