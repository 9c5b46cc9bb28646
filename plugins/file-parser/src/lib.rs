//! The `file-parser` transform: the text of PDF parts, for models that cannot read PDFs. A
//! request's `file` parts holding an inline base64 PDF (`"file_data":
//! "data:application/pdf;base64,..."`) become `text` parts with the document's text, named by
//! the file name, before routing: the hold covers the text, and routing no longer needs an
//! endpoint that reads documents. The PDF is read by `lopdf`, in the sandbox.
//!
//! Options (OpenRouter's shape): `pdf = { engine = "pdf-text" }`, the only engine served (and the
//! default). A PDF that cannot be read refuses the request with a 400 naming the file.

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_sdk::transform::{
    Descriptor, Hooks, Outcome, Transform, descriptor, modify, pass, refuse,
};

/// The prefix of an inline PDF.
const PDF_DATA_URL: &str = "data:application/pdf;base64,";

/// The transform's options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// PDF settings.
    #[serde(default)]
    pub pdf: PdfOptions,
}

/// PDF settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfOptions {
    /// `pdf-text` (the default): the text layer.
    #[serde(default)]
    pub engine: Option<String>,
}

/// The transform.
pub struct FileParser;

impl Transform for FileParser {
    type Options = Options;

    fn describe() -> Descriptor {
        descriptor("file-parser", env!("CARGO_PKG_VERSION"), Hooks::REQUEST)
    }

    fn check(options: &Options) -> Result<(), String> {
        match options.pdf.engine.as_deref() {
            None | Some("pdf-text") => Ok(()),
            Some(other) => Err(format!(
                "pdf.engine `{other}` is not served by Switchyard; use `pdf-text`"
            )),
        }
    }

    fn on_request(_options: &Options, request: Vec<u8>, state: Vec<u8>) -> Outcome {
        let Ok(mut value) = serde_json::from_slice::<Value>(&request) else {
            return pass(state);
        };
        let mut changed = false;
        let messages = value.get_mut("messages").and_then(Value::as_array_mut);
        for message in messages.into_iter().flatten() {
            let Some(parts) = message.get_mut("content").and_then(Value::as_array_mut) else {
                continue;
            };
            for part in parts.iter_mut() {
                let Some((name, data)) = inline_pdf(part) else {
                    continue;
                };
                match pdf_text(data) {
                    Ok(text) => {
                        *part = json!({ "type": "text", "text": format!("<file name=\"{name}\">\n{text}\n</file>") });
                        changed = true;
                    }
                    Err(reason) => {
                        return refuse(
                            400,
                            "unreadable_file",
                            format!("cannot read the PDF {name}: {reason}"),
                        );
                    }
                }
            }
        }
        match changed {
            true => modify(serde_json::to_vec(&value).unwrap_or(request), state),
            false => pass(state),
        }
    }
}

/// The file name and base64 data of a `file` part holding an inline PDF.
fn inline_pdf(part: &Value) -> Option<(String, &str)> {
    if part["type"] != "file" {
        return None;
    }
    let file = &part["file"];
    let data = file["file_data"].as_str()?.strip_prefix(PDF_DATA_URL)?;
    let name = file["filename"]
        .as_str()
        .unwrap_or("document.pdf")
        .to_owned();
    Some((name, data))
}

/// The text of a base64 PDF, page by page.
pub fn pdf_text(data: &str) -> Result<String, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|error| format!("not base64: {error}"))?;
    let document = lopdf::Document::load_mem(&bytes).map_err(|error| error.to_string())?;
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    let text = document
        .extract_text(&pages)
        .map_err(|error| error.to_string())?;
    Ok(text.trim().to_owned())
}

switchyard_sdk::export_transform!(FileParser);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::transform::Verdict;

    fn request_with(pdf: &[u8]) -> Vec<u8> {
        let data = base64::engine::general_purpose::STANDARD.encode(pdf);
        serde_json::to_vec(&json!({
            "model": "m",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Summarise the report."},
                {"type": "file", "file": {"filename": "report.pdf", "file_data": format!("{PDF_DATA_URL}{data}")}}
            ]}]
        }))
        .expect("json")
    }

    #[test]
    fn a_pdf_part_becomes_its_text() {
        let pdf = include_bytes!("../tests/fixtures/report.pdf");
        let outcome = FileParser::on_request(&Options::default(), request_with(pdf), Vec::new());
        let Verdict::Modify(bytes) = outcome.verdict else {
            panic!("not parsed: {:?}", outcome.verdict);
        };
        let value: Value = serde_json::from_slice(&bytes).expect("json");
        let part = &value["messages"][0]["content"][1];
        assert_eq!(part["type"], "text");
        let text = part["text"].as_str().expect("text");
        assert!(
            text.contains("Quarterly revenue grew 12 percent."),
            "{text}"
        );
        assert!(text.contains("report.pdf"), "{text}");
    }

    #[test]
    fn an_unreadable_pdf_is_refused_by_name_and_other_engines_are_refused() {
        let outcome =
            FileParser::on_request(&Options::default(), request_with(b"not a pdf"), Vec::new());
        let Verdict::Refuse(refusal) = outcome.verdict else {
            panic!("not refused");
        };
        assert!(
            refusal.message.contains("report.pdf"),
            "{}",
            refusal.message
        );
        let error = switchyard_sdk::transform::parse_options::<FileParser>(
            r#"{"pdf": {"engine": "mistral-ocr"}}"#,
        )
        .expect_err("refused");
        assert!(error.contains("mistral-ocr"), "{error}");
    }

    #[test]
    fn the_conformance_cases_pass() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
        let report =
            switchyard_sdk::transform::testing::run_cases::<FileParser>(dir).expect("cases");
        assert!(report.passed(), "{}", report.table());
    }
}
