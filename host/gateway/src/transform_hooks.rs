//! Where the gateway runs a call's transforms (`crate::transforms`):
//!
//! - [`prepare`]: the operator's and the request's transforms resolved, then `on-request` before
//!   routing (and so before the hold). A response cache looks up after this, never before: a
//!   guardrail must see every request.
//! - [`routed`]: `on-routed` once per endpoint tried, with its context length.
//! - [`response`]: `on-response` on a whole answer.
//! - [`stamp`]: the versions that ran, on the answer's headers.
//!
//! `on-chunk` runs in the stream, through `crate::transforms::chunks::ChunkHook`.

use axum::http::HeaderValue;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value};
use switchyard_sdk::openai::{ChatCompletion, ChatRequest};

use crate::call::ChatCall;
use crate::transforms::{HOST_FIELDS, Stage, Transforms};
use switchyard_domain::error::DomainError;
use switchyard_domain::failure::Failure;
use switchyard_plugin_runtime::transform::RoutedEndpoint;
use switchyard_routing::Candidate;

/// Resolves the transforms of `call` (the operator's attachments for its key, team and account,
/// then those its `plugins`/`transforms` field adds) and runs their `on-request` hooks: the
/// request routing, the hold and the upstream see is the transformed one. A response cache
/// should look up only after this. Calling it again on a prepared call does nothing.
pub async fn prepare(transforms: &Transforms, mut call: ChatCall) -> Result<ChatCall, DomainError> {
    if call.transforms.is_some() {
        return Ok(call);
    }
    let applied = transforms
        .resolve(&mut call.request, &mut call.body, &call.tab)
        .await?;
    if !applied.is_empty() {
        let bytes = (applied.run_bytes(&call.body, Stage::Request))
            .await
            .map_err(|refusal| DomainError::TransformRefused(Box::new(refusal)))?;
        if let Some(bytes) = bytes {
            let request: ChatRequest = serde_json::from_slice(&bytes).map_err(|error| {
                let refusal = applied.broken(
                    "on_request",
                    format!("returned an invalid request: {error}"),
                );
                DomainError::TransformRefused(Box::new(refusal))
            })?;
            call.body = Bytes::from(bytes);
            applied.keep_original(std::mem::replace(&mut call.request, request));
        }
    }
    call.transforms = Some(applied);
    Ok(call)
}

/// Runs the `on-routed` hooks for `candidate` and keeps the body that endpoint receives
/// ([`upstream_body`]). A refusal leaves this endpoint out: the next one is tried.
pub async fn routed(call: &ChatCall, candidate: &Candidate) -> Result<(), Failure> {
    let Some(applied) = call.transforms.as_ref().filter(|applied| applied.routes()) else {
        return Ok(());
    };
    let endpoint = RoutedEndpoint {
        provider: candidate.endpoint.provider.name.clone(),
        model: candidate.model.id.clone(),
        context_length: candidate.model.context_length,
        max_output_tokens: call
            .request
            .output_token_limit()
            .or(candidate.endpoint.max_output_tokens),
    };
    let routed = applied
        .run_bytes(&call.body, Stage::Routed(&endpoint))
        .await
        .map_err(|refusal| Failure::Provider {
            provider: endpoint.provider.clone(),
            error: switchyard_domain::plugin_types::ProviderError::Unsupported(refusal.to_string()),
        })?;
    let routed = match routed {
        Some(bytes) => {
            if let Err(error) = serde_json::from_slice::<ChatRequest>(&bytes) {
                let refusal =
                    applied.broken("on_routed", format!("returned an invalid request: {error}"));
                return Err(Failure::Refused(Box::new(refusal)));
            }
            Some(Bytes::from(bytes))
        }
        None => None,
    };
    applied.set_routed(routed);
    Ok(())
}

/// The body the current endpoint receives: the request as [`routed`] left it for that endpoint.
pub fn upstream_body(call: &ChatCall) -> Bytes {
    call.transforms
        .as_ref()
        .and_then(|applied| applied.routed_body())
        .unwrap_or_else(|| call.body.clone())
}

/// Runs the `on-response` hooks on a whole answer, `object` (a `chat.completion` with the
/// host's fields): a change replaces its content, the host's own fields (`id`, `usage`,
/// `routing`...) stay the host's. A refusal is the attempt's final failure (no failover: the
/// answer was generated and is charged).
pub async fn response(call: &ChatCall, object: &mut Map<String, Value>) -> Result<(), Failure> {
    let Some(applied) = call.transforms.as_ref().filter(|applied| applied.answers()) else {
        return Ok(());
    };
    let request = upstream_body(call);
    let bytes = serde_json::to_vec(&object).unwrap_or_default();
    let changed = applied
        .run_bytes(&bytes, Stage::Response(&request))
        .await
        .map_err(|refusal| Failure::Refused(Box::new(refusal)))?;
    if let Some(object_routing) = object.get_mut("routing") {
        applied.log().write_into(object_routing);
    }
    let Some(changed) = changed else {
        return Ok(());
    };
    let checked = serde_json::from_slice::<Map<String, Value>>(&changed)
        .ok()
        .filter(|changed| {
            serde_json::from_value::<ChatCompletion>(Value::Object(changed.clone())).is_ok()
        });
    let Some(mut changed) = checked else {
        let refusal = applied.broken("on_response", "returned an invalid chat.completion");
        return Err(Failure::Refused(Box::new(refusal)));
    };
    for field in HOST_FIELDS {
        match object.remove(*field) {
            Some(value) => changed.insert((*field).to_owned(), value),
            None => changed.remove(*field),
        };
    }
    *object = changed;
    Ok(())
}

/// Adds `X-Switchyard-Transforms` to an answer whose request had transforms: each one that ran
/// as `name@version+digest`, in order, so every answer is attributable to the versions that
/// changed (or passed) it.
pub fn stamp(call: &ChatCall, mut response: Response) -> Response {
    let Some(applied) = call
        .transforms
        .as_ref()
        .filter(|applied| !applied.is_empty())
    else {
        return response;
    };
    if let Ok(value) = HeaderValue::from_str(&applied.versions()) {
        response
            .headers_mut()
            .insert("x-switchyard-transforms", value);
    }
    response
}
