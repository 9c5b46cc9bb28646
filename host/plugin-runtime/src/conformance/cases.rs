//! The conformance kit for transforms in the gateway: each case (`*.case.json`, see
//! [`switchyard_sdk::conformance::cases`]) run through a compiled transform in its sandbox, its
//! options checked by the transform first. Used by `switchyard plugin test` and by the replay
//! gates of `[transforms.gates]`.

use std::path::PathBuf;

use switchyard_sdk::conformance::cases::{self, Case, Decided};
use switchyard_sdk::conformance::checks::{FixtureReport, Outcome, Report};

use super::ConformanceError;
use crate::TransformPlugin;
use crate::transform::{Hook, RoutedEndpoint, Verdict};
use crate::warm::TenantScope;

/// Runs every case of `folders` through `plugin`.
pub async fn run(
    plugin: &TransformPlugin,
    folders: &[PathBuf],
) -> Result<Report, ConformanceError> {
    let mut report = Report::default();
    for folder in folders {
        let read = cases::read_dir(folder).map_err(|source| ConformanceError::Fixtures {
            path: folder.clone(),
            source,
        })?;
        for (name, case) in read {
            let report_of = |check, failure| FixtureReport {
                fixture: name.clone(),
                outcomes: vec![Outcome {
                    check,
                    failure: Some(failure),
                }],
            };
            report.fixtures.push(match decide(plugin, &case).await {
                Ok(decided) => cases::check(&name, &case, &decided),
                Err((check, failure)) => report_of(check, failure),
            });
        }
    }
    Ok(report)
}

/// What `plugin` decides on `case`, or the check that failed before it could.
async fn decide(plugin: &TransformPlugin, case: &Case) -> Result<Decided, (&'static str, String)> {
    let scope = TenantScope::OPERATOR;
    let options = case.options.to_string();
    match plugin.check_options(&scope, &options).await {
        Ok(Ok(())) => {}
        Ok(Err(message)) => return Err(("options accepted", message)),
        Err(fault) => return Err(("no plugin fault", fault.reason)),
    }
    let input = case.input.to_string().into_bytes();
    let request = case.request.to_string().into_bytes();
    let endpoint = RoutedEndpoint {
        provider: "conformance".to_owned(),
        model: "conformance/model".to_owned(),
        context_length: case.endpoint.context_length,
        max_output_tokens: case.endpoint.max_output_tokens,
    };
    let hook = match case.hook.as_str() {
        "request" => Hook::Request { request: &input },
        "routed" => Hook::Routed {
            request: &input,
            endpoint: &endpoint,
        },
        "response" => Hook::Response {
            request: &request,
            response: &input,
        },
        "chunk" => Hook::Chunk { chunk: &input },
        other => return Err(("known hook", format!("no hook named {other}"))),
    };
    if !hook.wanted_by(plugin.hooks()) {
        return Err((
            "declared hook",
            format!("the transform does not declare {}", case.hook),
        ));
    }
    let outcome = (plugin.call(&scope, &options, hook, &[]).await)
        .map_err(|fault| ("no plugin fault", fault.reason))?;
    Ok(match outcome.verdict {
        Verdict::Pass => Decided::Pass,
        Verdict::Modify(bytes) => Decided::Modify(bytes),
        Verdict::Refuse(refusal) => Decided::Refuse {
            status: refusal.status,
            code: refusal.code,
        },
    })
}
