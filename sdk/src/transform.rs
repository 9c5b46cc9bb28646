//! Transforms: the [`Transform`] trait and the [`export_transform!`](crate::export_transform)
//! macro (contract 0.5.0 on).
//!
//! A transform changes what flows through the gateway, or refuses it: on the request before
//! routing (`on_request`), on the request for the endpoint routing chose (`on_routed`, which
//! knows its context length), on a whole answer (`on_response`) and on each streamed chunk
//! (`on_chunk`). It keeps nothing between calls: what it needs later in the same request goes in
//! the `state` bytes of its [`Outcome`], which the host hands back on the request's next call.
//!
//! ```ignore
//! use serde::Deserialize;
//! use switchyard_sdk::transform::*;
//!
//! #[derive(Deserialize, Default)]
//! #[serde(deny_unknown_fields)]
//! struct Options { terms: Vec<String> }
//!
//! struct DenyList;
//!
//! impl Transform for DenyList {
//!     type Options = Options;
//!     fn describe() -> Descriptor { descriptor("deny-list", "0.1.0", Hooks::REQUEST) }
//!     fn on_request(options: &Options, request: Vec<u8>, state: Vec<u8>) -> Outcome {
//!         /* ... */ pass(state)
//!     }
//! }
//!
//! switchyard_sdk::export_transform!(DenyList);
//! ```

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        // The SDK's own copy of the contract (`sdk/wit`, copied from the repository's `wit/`).
        path: "wit",
        world: "transform",
        pub_export_macro: true,
        export_macro_name: "__export_transform_world",
        default_bindings_module: "::switchyard_sdk::transform::bindings",
        runtime_path: "::switchyard_sdk::__private::wit_bindgen::rt",
    });
}

use bindings::exports::switchyard::plugin::transformer as wit;

pub use wit::{Descriptor, Endpoint, Hooks, Outcome, Refusal, Verdict};

/// A transform. Implement it on a unit struct and export it with
/// [`export_transform!`](crate::export_transform). Every hook passes by default; the host calls
/// only those [`Transform::describe`] declares.
pub trait Transform: 'static {
    /// The transform's options, read from the JSON object the operator's configuration (or a
    /// request's `plugins` entry) gives: `{}` when none. Use `#[serde(deny_unknown_fields)]` so
    /// a misspelt option is an error the operator sees when the gateway starts.
    type Options: DeserializeOwned;

    /// Name, version and the hooks to call.
    fn describe() -> Descriptor;

    /// Checks options beyond their shape (a regex that does not compile, an empty list...).
    fn check(options: &Self::Options) -> Result<(), String> {
        let _ = options;
        Ok(())
    }

    /// The canonical request (JSON bytes) before routing.
    fn on_request(options: &Self::Options, request: Vec<u8>, state: Vec<u8>) -> Outcome {
        let _ = (options, request);
        pass(state)
    }

    /// The request for one endpoint routing chose.
    fn on_routed(
        options: &Self::Options,
        request: Vec<u8>,
        endpoint: Endpoint,
        state: Vec<u8>,
    ) -> Outcome {
        let _ = (options, request, endpoint);
        pass(state)
    }

    /// A whole answer (`chat.completion` JSON bytes); `request` is what the endpoint received.
    fn on_response(
        options: &Self::Options,
        request: Vec<u8>,
        response: Vec<u8>,
        state: Vec<u8>,
    ) -> Outcome {
        let _ = (options, request, response);
        pass(state)
    }

    /// One streamed chunk (`chat.completion.chunk` JSON bytes).
    fn on_chunk(options: &Self::Options, chunk: Vec<u8>, state: Vec<u8>) -> Outcome {
        let _ = (options, chunk);
        pass(state)
    }
}

/// A descriptor.
pub fn descriptor(name: &str, version: &str, hooks: Hooks) -> Descriptor {
    Descriptor {
        name: name.to_owned(),
        version: version.to_owned(),
        hooks,
    }
}

/// Nothing to change; `state` goes to the next call.
pub fn pass(state: Vec<u8>) -> Outcome {
    Outcome {
        verdict: Verdict::Pass,
        state,
    }
}

/// Replace the request, answer or chunk with `bytes`; `state` goes to the next call.
pub fn modify(bytes: Vec<u8>, state: Vec<u8>) -> Outcome {
    Outcome {
        verdict: Verdict::Modify(bytes),
        state,
    }
}

/// Refuse with `status`, `code` and `message` (answered in the client's API shape).
pub fn refuse(status: u16, code: &str, message: impl Into<String>) -> Outcome {
    Outcome {
        verdict: Verdict::Refuse(Refusal {
            status,
            code: code.to_owned(),
            message: message.into(),
        }),
        state: Vec::new(),
    }
}

/// Reads options text into `T::Options` and checks them.
pub fn parse_options<T: Transform>(options: &str) -> Result<T::Options, String> {
    let parsed: T::Options =
        serde_json::from_str(options).map_err(|error| format!("invalid options: {error}"))?;
    T::check(&parsed)?;
    Ok(parsed)
}

/// Glue between a [`Transform`] and the generated bindings. Used by the export macro.
#[doc(hidden)]
pub struct Export<T>(PhantomData<T>);

/// Runs `hook` with the parsed options, or refuses (500) when they do not parse: the host checks
/// options before any hook runs, so that means the host and the transform disagree.
fn with_options<T: Transform>(options: &str, hook: impl FnOnce(&T::Options) -> Outcome) -> Outcome {
    match parse_options::<T>(options) {
        Ok(options) => hook(&options),
        Err(error) => refuse(500, "transform_options", error),
    }
}

impl<T: Transform> wit::Guest for Export<T> {
    fn describe() -> Descriptor {
        T::describe()
    }

    fn check_options(options: String) -> Result<(), String> {
        parse_options::<T>(&options).map(|_| ())
    }

    fn on_request(options: String, request: Vec<u8>, state: Vec<u8>) -> Outcome {
        with_options::<T>(&options, |options| T::on_request(options, request, state))
    }

    fn on_routed(options: String, request: Vec<u8>, endpoint: Endpoint, state: Vec<u8>) -> Outcome {
        with_options::<T>(&options, |options| {
            T::on_routed(options, request, endpoint, state)
        })
    }

    fn on_response(
        options: String,
        request: Vec<u8>,
        response: Vec<u8>,
        state: Vec<u8>,
    ) -> Outcome {
        with_options::<T>(&options, |options| {
            T::on_response(options, request, response, state)
        })
    }

    fn on_chunk(options: String, chunk: Vec<u8>, state: Vec<u8>) -> Outcome {
        with_options::<T>(&options, |options| T::on_chunk(options, chunk, state))
    }
}

/// Exports a [`Transform`] implementation as the plugin's `transformer` interface.
#[macro_export]
macro_rules! export_transform {
    ($transform:ty) => {
        // Only a wasm32 build exports the component's functions (see `export_router!`).
        #[cfg(target_arch = "wasm32")]
        type __SwitchyardTransformExport = $crate::transform::Export<$transform>;
        #[cfg(target_arch = "wasm32")]
        $crate::transform::bindings::__export_transform_world!(
            __SwitchyardTransformExport with_types_in $crate::transform::bindings
        );
        $crate::__stamp_contract!();
    };
}

/// Running a transform's conformance cases natively, in its own `cargo test`.
pub mod testing {
    use std::path::Path;

    use super::{Transform, Verdict, parse_options};
    use crate::conformance::cases::{self, Decided};
    use crate::conformance::checks::{FixtureReport, Outcome, Report};

    /// Runs every `*.case.json` of `dir` through `T` (see [`crate::conformance::cases`]).
    pub fn run_cases<T: Transform>(dir: &Path) -> std::io::Result<Report> {
        let mut report = Report::default();
        for (name, case) in cases::read_dir(dir)? {
            let options = match parse_options::<T>(&case.options.to_string()) {
                Ok(options) => options,
                Err(error) => {
                    report.fixtures.push(FixtureReport {
                        fixture: name,
                        outcomes: vec![Outcome {
                            check: "options accepted",
                            failure: Some(error),
                        }],
                    });
                    continue;
                }
            };
            let input = case.input.to_string().into_bytes();
            let outcome = match case.hook.as_str() {
                "request" => T::on_request(&options, input, Vec::new()),
                "routed" => {
                    let endpoint = super::Endpoint {
                        provider: "conformance".to_owned(),
                        model: "conformance/model".to_owned(),
                        context_length: case.endpoint.context_length,
                        max_output_tokens: case.endpoint.max_output_tokens,
                    };
                    T::on_routed(&options, input, endpoint, Vec::new())
                }
                "response" => {
                    let request = case.request.to_string().into_bytes();
                    T::on_response(&options, request, input, Vec::new())
                }
                _ => T::on_chunk(&options, input, Vec::new()),
            };
            let decided = match outcome.verdict {
                Verdict::Pass => Decided::Pass,
                Verdict::Modify(bytes) => Decided::Modify(bytes),
                Verdict::Refuse(refusal) => Decided::Refuse {
                    status: refusal.status,
                    code: refusal.code,
                },
            };
            report.fixtures.push(cases::check(&name, &case, &decided));
        }
        Ok(report)
    }
}

/// Text helpers shared by transforms that read or rewrite message text.
pub mod text {
    use serde_json::Value;

    /// Calls `edit` on every text of a chat request's messages (string contents and `text`
    /// parts), in order; returns whether any changed.
    pub fn edit_request_texts(
        request: &mut Value,
        mut edit: impl FnMut(&mut String) -> bool,
    ) -> bool {
        let mut changed = false;
        let Some(messages) = request.get_mut("messages").and_then(Value::as_array_mut) else {
            return false;
        };
        for message in messages {
            changed |= edit_content(message.get_mut("content"), &mut edit);
        }
        changed
    }

    /// Calls `edit` on every text of an answer's choices (`message.content` of a completion,
    /// `delta.content` of a chunk); returns whether any changed.
    pub fn edit_answer_texts(
        answer: &mut Value,
        mut edit: impl FnMut(&mut String) -> bool,
    ) -> bool {
        let mut changed = false;
        let Some(choices) = answer.get_mut("choices").and_then(Value::as_array_mut) else {
            return false;
        };
        for choice in choices {
            for field in ["message", "delta"] {
                if let Some(message) = choice.get_mut(field) {
                    changed |= edit_content(message.get_mut("content"), &mut edit);
                }
            }
        }
        changed
    }

    fn edit_content(
        content: Option<&mut Value>,
        edit: &mut impl FnMut(&mut String) -> bool,
    ) -> bool {
        match content {
            Some(Value::String(text)) => edit(text),
            Some(Value::Array(parts)) => {
                let mut changed = false;
                for part in parts {
                    if let Some(Value::String(text)) = part.get_mut("text") {
                        changed |= edit(text);
                    }
                }
                changed
            }
            _ => false,
        }
    }
}
