//! Why the request path could not serve a request, in its own terms: routing found no model or
//! no endpoint, accounting refused the key or its money, or the upstream attempts failed.
//!
//! Routing, accounting and the gateway return a [`DomainError`]; the HTTP layer renders it
//! (`From<DomainError> for ApiError` in [`switchyard_api::error`]). Each table below is one
//! exhaustive match, so a new failure must choose its status, its error type and its code.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::capability::Capability;
use crate::config::EMBEDDINGS_MODALITY;
use crate::failure::Failure;
use crate::money::{Nanos, usd_json};
use crate::plugin_types::ProviderError;
use crate::policy_refusal::{Level, PolicyRefusal};
use crate::routing_trace::RoutingTrace;
use crate::store_error::StoreError;

/// A request the gateway could not serve.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// No catalog entry or alias names the requested model.
    #[error("model {requested:?} does not exist")]
    ModelNotFound {
        /// The model id as requested (variant included).
        requested: String,
    },
    /// None of the requested models has an enabled endpoint.
    #[error("no enabled provider serves {models}")]
    NoEnabledEndpoint {
        /// The requested model ids, comma-separated.
        models: String,
        /// The disabled endpoints of those models.
        disabled: Vec<String>,
    },
    /// The request's preferences, open circuits or the routing policy left no endpoint.
    #[error("{}", unmatched_message(.0))]
    NoEndpointMatches(Box<Unmatched>),
    /// An embeddings request named a model that does not output embeddings.
    #[error(
        "model {model} is not an embedding model (its output modalities do not include `{modality}`)",
        modality = EMBEDDINGS_MODALITY
    )]
    NotAnEmbeddingModel {
        /// The model's id.
        model: String,
    },
    /// No endpoint of the requested models has an adapter that serves embeddings.
    #[error("no endpoint of the requested models has an adapter that serves embeddings")]
    NoEmbeddingsAdapter,
    /// A chat request named a model that only embeds.
    #[error("model {model} is an embedding model: send it to /v1/embeddings")]
    NotAChatModel {
        /// The model's id.
        model: String,
    },
    /// The request carries no bearer token.
    #[error("an API key is required: Authorization: Bearer <key>")]
    MissingApiKey,
    /// No key has the bearer token as its secret.
    #[error("invalid API key")]
    UnknownApiKey,
    /// The key is disabled, expired or gone.
    #[error("the API key is disabled or expired")]
    ApiKeyUnusable,
    /// The key's own rate limit is reached.
    #[error("the API key's rate limit is reached; retry later")]
    KeyRateLimited {
        /// Seconds until the limit lets a request through.
        retry_after_secs: u64,
    },
    /// The most the request can cost is too large to be an amount of money.
    #[error("the request's worst-case cost is out of range")]
    CostOutOfRange,
    /// The key's spending limit (in its current window) has no room for the request's hold.
    #[error(
        "This request requires more credits than the key's limit has left, or fewer max_tokens."
    )]
    KeyLimitReached {
        /// The hold the request needs.
        required: Nanos,
    },
    /// The account's credits have no room for the request's hold.
    #[error(
        "This request requires more credits, or fewer max_tokens. Add credits to the key's account."
    )]
    InsufficientCredits {
        /// The hold the request needs.
        required: Nanos,
    },
    /// The budget of the key's team or account (in its current window) has no room for the
    /// request's hold.
    #[error("This request requires more than the {level}'s budget has left, or fewer max_tokens.")]
    BudgetReached {
        /// Whose budget.
        level: Level,
        /// The hold the request needs.
        required: Nanos,
    },
    /// A budget a key or team sets on the models a request may be served by has no room for
    /// the request's hold.
    #[error(
        "This request requires more than the {level}'s budget for this model has left, or fewer max_tokens."
    )]
    ModelBudgetReached {
        /// Whose model budget.
        level: Level,
        /// The hold the request needs.
        required: Nanos,
    },
    /// The end user id (`user`, `metadata.user_id`, `X-Switchyard-User`) is too long.
    #[error("the end user id is longer than {max} bytes")]
    EndUserIdTooLong {
        /// The most bytes an id may have.
        max: usize,
    },
    /// The request names a new end user and the account has as many as it may.
    #[error("the account has {max} end users already: a new end user id is refused")]
    EndUserCapReached {
        /// The account's cap.
        max: i64,
    },
    /// The end user's rate limit (set by the account) is reached.
    #[error("the end user's rate limit is reached; retry later")]
    EndUserRateLimited {
        /// Seconds until the limit lets a request through.
        retry_after_secs: u64,
    },
    /// A level of the key's organisation (account, team, key) does not allow the request.
    #[error("{0}")]
    PolicyRefused(Box<PolicyRefusal>),
    /// The accounting database failed: the books cannot be kept, so nothing is served.
    #[error("the accounting database is unavailable")]
    AccountingUnavailable(#[source] StoreError),
    /// An upstream attempt failed: the last one once failover gave up, or one that broke a
    /// stream already under way.
    #[error("{failure}")]
    Upstream {
        /// What went wrong in the attempt.
        failure: Failure,
        /// The attempts failover made, when it gave up.
        attempts: Option<Box<Attempts>>,
    },
    /// Routing planned endpoints, but failover tried none.
    #[error("no endpoint was tried")]
    NothingTried(Box<Attempts>),
    /// Every endpoint was left out because its adapter lacks a capability the request needs.
    #[error(
        "no endpoint of {} can serve this request: it uses {}, which no endpoint's adapter supports",
        .unmatched.models,
        .missing.iter().map(ToString::to_string).collect::<Vec<_>>().join(" and ")
    )]
    MissingCapability {
        /// The capabilities the endpoints lack, e.g. `vision`.
        missing: Vec<Capability>,
        /// The exclusions.
        unmatched: Box<Unmatched>,
    },
    /// Every endpoint was left out because its model's context window cannot hold the
    /// estimated prompt plus the requested output.
    #[error(
        "this request needs about {estimate} tokens (estimated prompt plus requested output), \
         more than the largest context window of {} ({largest_context} tokens); shorten the \
         prompt or lower the output limit",
        .unmatched.models
    )]
    ContextLengthExceeded {
        /// The estimated prompt plus the requested output, in tokens.
        estimate: u64,
        /// The largest context window among the endpoints left out.
        largest_context: u64,
        /// The exclusions.
        unmatched: Box<Unmatched>,
    },
    /// A transform refused the request or its answer, or faulted and fails closed.
    #[error("{}", .0.message)]
    TransformRefused(Box<crate::transform_refusal::TransformRefusal>),
    /// The request offers a built-in tool (code interpreter, file search...) that no endpoint
    /// left serves: none is opted into it with a price (see `gateway::builtin`).
    #[error("{0}")]
    BuiltinToolUnserved(String),
}

/// Why every endpoint was left out, for [`DomainError::NoEndpointMatches`].
#[derive(Debug)]
pub struct Unmatched {
    /// The requested model ids, comma-separated.
    pub models: String,
    /// The disabled endpoints of those models.
    pub disabled: Vec<String>,
    /// Routing's decisions, with every exclusion and its reason.
    pub trace: RoutingTrace,
}

/// The attempts failover made before it gave up.
#[derive(Debug)]
pub struct Attempts {
    /// Routing's decisions and the failed attempts.
    pub trace: RoutingTrace,
    /// Whether the client asked for the whole routing trace.
    pub show_routing: bool,
}

impl From<Failure> for DomainError {
    /// A failed attempt on its own, without failover's attempts.
    fn from(failure: Failure) -> Self {
        DomainError::Upstream {
            failure,
            attempts: None,
        }
    }
}

impl DomainError {
    /// The HTTP status the client sees.
    pub fn status(&self) -> StatusCode {
        match self {
            DomainError::ModelNotFound { .. } | DomainError::NoEnabledEndpoint { .. } => {
                StatusCode::NOT_FOUND
            }
            DomainError::NotAnEmbeddingModel { .. }
            | DomainError::NotAChatModel { .. }
            | DomainError::MissingCapability { .. }
            | DomainError::ContextLengthExceeded { .. }
            | DomainError::EndUserIdTooLong { .. }
            | DomainError::BuiltinToolUnserved(_)
            | DomainError::CostOutOfRange => StatusCode::BAD_REQUEST,
            DomainError::MissingApiKey
            | DomainError::UnknownApiKey
            | DomainError::ApiKeyUnusable => StatusCode::UNAUTHORIZED,
            DomainError::KeyLimitReached { .. }
            | DomainError::InsufficientCredits { .. }
            | DomainError::BudgetReached { .. }
            | DomainError::ModelBudgetReached { .. } => StatusCode::PAYMENT_REQUIRED,
            DomainError::PolicyRefused(_) | DomainError::EndUserCapReached { .. } => {
                StatusCode::FORBIDDEN
            }
            DomainError::KeyRateLimited { .. } | DomainError::EndUserRateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            DomainError::NoEndpointMatches(_)
            | DomainError::NoEmbeddingsAdapter
            | DomainError::AccountingUnavailable(_)
            | DomainError::NothingTried(_) => StatusCode::SERVICE_UNAVAILABLE,
            DomainError::Upstream { failure, .. } => upstream(failure).status,
            DomainError::TransformRefused(refusal) => refusal.status,
        }
    }

    /// The OpenAI error `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            DomainError::ModelNotFound { .. }
            | DomainError::NoEnabledEndpoint { .. }
            | DomainError::NotAnEmbeddingModel { .. }
            | DomainError::NotAChatModel { .. }
            | DomainError::MissingCapability { .. }
            | DomainError::ContextLengthExceeded { .. }
            | DomainError::EndUserIdTooLong { .. }
            | DomainError::BuiltinToolUnserved(_)
            | DomainError::CostOutOfRange => "invalid_request_error",
            DomainError::MissingApiKey
            | DomainError::UnknownApiKey
            | DomainError::ApiKeyUnusable => "authentication_error",
            DomainError::KeyLimitReached { .. }
            | DomainError::InsufficientCredits { .. }
            | DomainError::BudgetReached { .. }
            | DomainError::ModelBudgetReached { .. } => "insufficient_quota",
            DomainError::PolicyRefused(_) | DomainError::EndUserCapReached { .. } => {
                "permission_error"
            }
            DomainError::KeyRateLimited { .. } | DomainError::EndUserRateLimited { .. } => {
                "rate_limit_error"
            }
            DomainError::AccountingUnavailable(_) => "server_error",
            DomainError::NoEndpointMatches(_)
            | DomainError::NoEmbeddingsAdapter
            | DomainError::NothingTried(_) => "upstream_error",
            DomainError::Upstream { failure, .. } => upstream(failure).kind,
            DomainError::TransformRefused(refusal) => refusal.kind(),
        }
    }

    /// The machine-readable `code`, when the error has one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            DomainError::ModelNotFound { .. } => Some("model_not_found"),
            DomainError::NoEnabledEndpoint { .. } => Some("no_endpoints"),
            DomainError::NoEndpointMatches(_) => Some("no_endpoints_match"),
            DomainError::MissingCapability { .. } => Some("missing_capability"),
            DomainError::ContextLengthExceeded { .. } => Some("context_length_exceeded"),
            DomainError::NotAnEmbeddingModel { .. } => Some("not_an_embedding_model"),
            DomainError::NotAChatModel { .. } => Some("not_a_chat_model"),
            DomainError::NoEmbeddingsAdapter => Some("no_embeddings_adapter"),
            DomainError::MissingApiKey
            | DomainError::UnknownApiKey
            | DomainError::ApiKeyUnusable => Some("invalid_api_key"),
            DomainError::KeyRateLimited { .. } => Some("rate_limited"),
            DomainError::KeyLimitReached { .. } => Some("key_limit_exceeded"),
            DomainError::InsufficientCredits { .. } => Some("insufficient_credits"),
            DomainError::BudgetReached { level, .. } => Some(match level {
                Level::Team => "team_budget_exceeded",
                Level::Account => "account_budget_exceeded",
                Level::Key => "key_limit_exceeded",
                Level::EndUser => "end_user_budget_exceeded",
            }),
            DomainError::ModelBudgetReached { .. } => Some("model_budget_exceeded"),
            DomainError::EndUserIdTooLong { .. } => Some("end_user_id_too_long"),
            DomainError::EndUserCapReached { .. } => Some("end_user_limit"),
            DomainError::EndUserRateLimited { .. } => Some("end_user_rate_limited"),
            DomainError::PolicyRefused(refusal) => Some(match refusal.rule {
                "allowed_models" => "model_not_allowed",
                "max_price" => "price_above_ceiling",
                "data_policy" => "data_policy_not_met",
                _ => "provider_not_allowed",
            }),
            DomainError::AccountingUnavailable(_) => Some("accounting_unavailable"),
            DomainError::Upstream { failure, .. } => Some(upstream(failure).code),
            DomainError::TransformRefused(refusal) => Some(refusal.code),
            DomainError::BuiltinToolUnserved(_) => Some("unsupported_tool"),
            DomainError::CostOutOfRange | DomainError::NothingTried(_) => None,
        }
    }

    /// Details for the error's `metadata`: the disabled and excluded endpoints, the hold a
    /// refused request needs, or the attempts failover made.
    pub fn metadata(&self) -> Option<Value> {
        match self {
            DomainError::NoEnabledEndpoint { disabled, .. } => {
                Some(json!({ "disabled": disabled }))
            }
            DomainError::NoEndpointMatches(unmatched) => Some(json!({
                "excluded": unmatched.trace.exclusions(),
                "disabled": unmatched.disabled,
                "routing": unmatched.trace,
            })),
            DomainError::MissingCapability { missing, unmatched } => Some(json!({
                "missing_capabilities": missing.iter().map(|c| c.name()).collect::<Vec<_>>(),
                "excluded": unmatched.trace.exclusions(),
                "routing": unmatched.trace,
            })),
            DomainError::ContextLengthExceeded {
                estimate,
                largest_context,
                unmatched,
            } => Some(json!({
                "estimated_tokens": estimate,
                "largest_context": largest_context,
                "excluded": unmatched.trace.exclusions(),
            })),
            DomainError::KeyLimitReached { required }
            | DomainError::InsufficientCredits { required } => {
                Some(json!({ "required": usd_json(*required) }))
            }
            DomainError::BudgetReached { level, required }
            | DomainError::ModelBudgetReached { level, required } => {
                Some(json!({ "level": level, "required": usd_json(*required) }))
            }
            DomainError::EndUserCapReached { max } => Some(json!({ "max_end_users": max })),
            DomainError::PolicyRefused(refusal) => Some(json!({
                "level": refusal.level,
                "id": refusal.id,
                "rule": refusal.rule,
            })),
            DomainError::TransformRefused(refusal) => Some(refusal.metadata()),
            DomainError::Upstream {
                attempts: Some(attempts),
                ..
            }
            | DomainError::NothingTried(attempts) => Some(json!({
                "attempts": attempts.trace.attempts,
                "routing": attempts.show_routing.then_some(&attempts.trace),
            })),
            DomainError::ModelNotFound { .. }
            | DomainError::NotAnEmbeddingModel { .. }
            | DomainError::NotAChatModel { .. }
            | DomainError::NoEmbeddingsAdapter
            | DomainError::MissingApiKey
            | DomainError::UnknownApiKey
            | DomainError::ApiKeyUnusable
            | DomainError::KeyRateLimited { .. }
            | DomainError::EndUserRateLimited { .. }
            | DomainError::EndUserIdTooLong { .. }
            | DomainError::CostOutOfRange
            | DomainError::BuiltinToolUnserved(_)
            | DomainError::AccountingUnavailable(_)
            | DomainError::Upstream { attempts: None, .. } => None,
        }
    }

    /// Seconds the client should wait before retrying, when a rate limit said so.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            DomainError::KeyRateLimited { retry_after_secs }
            | DomainError::EndUserRateLimited { retry_after_secs } => Some(*retry_after_secs),
            DomainError::Upstream {
                failure:
                    Failure::Provider {
                        error: ProviderError::RateLimited { retry_after_ms, .. },
                        ..
                    },
                ..
            } => retry_after_ms.map(|ms| ms.div_ceil(1000)),
            _ => None,
        }
    }
}

/// How an upstream failure is answered.
struct UpstreamAnswer {
    status: StatusCode,
    kind: &'static str,
    code: &'static str,
}

/// The status, error type and code of a failed attempt.
fn upstream(failure: &Failure) -> UpstreamAnswer {
    let answer = |status, kind, code| UpstreamAnswer { status, kind, code };
    let gateway_error = |code| answer(StatusCode::BAD_GATEWAY, "upstream_error", code);
    match failure {
        Failure::Provider { error, .. } => match error {
            ProviderError::RateLimited { .. } => answer(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "rate_limited",
            ),
            ProviderError::Overloaded(_) => answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_error",
                "overloaded",
            ),
            ProviderError::ContextLengthExceeded(_) => answer(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "context_length_exceeded",
            ),
            ProviderError::InvalidRequest(_) => answer(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "invalid_request",
            ),
            ProviderError::Auth(_) => gateway_error("upstream_auth_failed"),
            ProviderError::ContentFiltered(_) => answer(
                StatusCode::FORBIDDEN,
                "invalid_request_error",
                "content_filtered",
            ),
            ProviderError::UpstreamUnavailable(_) | ProviderError::Internal(_) => {
                gateway_error("upstream_error")
            }
            // Every endpoint tried said it cannot serve this request.
            ProviderError::Unsupported(_) => answer(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "unsupported",
            ),
        },
        Failure::Plugin(_) => gateway_error("plugin_failed"),
        Failure::Timeout { .. } => answer(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_error",
            "upstream_timeout",
        ),
        Failure::Transport { .. } => gateway_error("upstream_unreachable"),
        Failure::HostNotAllowed { .. } => gateway_error("host_not_allowed"),
        Failure::Refused(refusal) => answer(refusal.status, refusal.kind(), refusal.code),
    }
}

/// The message when every endpoint was left out: each exclusion with its reason, or the routing
/// policy when nothing was excluded.
fn unmatched_message(unmatched: &Unmatched) -> String {
    let Unmatched { models, trace, .. } = unmatched;
    let reasons: Vec<String> = trace
        .excluded()
        .map(|(_, candidate)| {
            format!(
                "{}: {}",
                candidate.provider,
                candidate.reason.as_deref().unwrap_or_default()
            )
        })
        .collect();
    if reasons.is_empty() {
        format!("the routing policy left no endpoint for {models}")
    } else {
        format!(
            "no endpoint of {models} matches the request's routing preferences ({})",
            reasons.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::plugin_fault::PluginFault;

    fn provider(error: ProviderError) -> DomainError {
        DomainError::from(Failure::Provider {
            provider: "groq".to_owned(),
            error,
        })
    }

    fn attempts() -> Box<Attempts> {
        Box::new(Attempts {
            trace: RoutingTrace::default(),
            show_routing: false,
        })
    }

    /// Every variant (and every kind of upstream failure), with the status, type and code the
    /// client has always seen for it.
    fn table() -> Vec<(DomainError, u16, &'static str, Option<&'static str>)> {
        let message = || "m".to_owned();
        vec![
            (
                DomainError::ModelNotFound {
                    requested: "x".to_owned(),
                },
                404,
                "invalid_request_error",
                Some("model_not_found"),
            ),
            (
                DomainError::NoEnabledEndpoint {
                    models: "x".to_owned(),
                    disabled: Vec::new(),
                },
                404,
                "invalid_request_error",
                Some("no_endpoints"),
            ),
            (
                DomainError::NoEndpointMatches(Box::new(Unmatched {
                    models: "x".to_owned(),
                    disabled: Vec::new(),
                    trace: RoutingTrace::default(),
                })),
                503,
                "upstream_error",
                Some("no_endpoints_match"),
            ),
            (
                DomainError::NotAnEmbeddingModel {
                    model: "x".to_owned(),
                },
                400,
                "invalid_request_error",
                Some("not_an_embedding_model"),
            ),
            (
                DomainError::NotAChatModel {
                    model: "x".to_owned(),
                },
                400,
                "invalid_request_error",
                Some("not_a_chat_model"),
            ),
            (
                DomainError::NoEmbeddingsAdapter,
                503,
                "upstream_error",
                Some("no_embeddings_adapter"),
            ),
            (
                DomainError::MissingApiKey,
                401,
                "authentication_error",
                Some("invalid_api_key"),
            ),
            (
                DomainError::UnknownApiKey,
                401,
                "authentication_error",
                Some("invalid_api_key"),
            ),
            (
                DomainError::ApiKeyUnusable,
                401,
                "authentication_error",
                Some("invalid_api_key"),
            ),
            (
                DomainError::KeyRateLimited {
                    retry_after_secs: 3,
                },
                429,
                "rate_limit_error",
                Some("rate_limited"),
            ),
            (
                DomainError::CostOutOfRange,
                400,
                "invalid_request_error",
                None,
            ),
            (
                DomainError::KeyLimitReached { required: 1 },
                402,
                "insufficient_quota",
                Some("key_limit_exceeded"),
            ),
            (
                DomainError::InsufficientCredits { required: 1 },
                402,
                "insufficient_quota",
                Some("insufficient_credits"),
            ),
            (
                DomainError::AccountingUnavailable(StoreError::Stopped),
                503,
                "server_error",
                Some("accounting_unavailable"),
            ),
            (
                DomainError::NothingTried(attempts()),
                503,
                "upstream_error",
                None,
            ),
            (
                provider(ProviderError::RateLimited {
                    message: message(),
                    retry_after_ms: None,
                }),
                429,
                "rate_limit_error",
                Some("rate_limited"),
            ),
            (
                provider(ProviderError::Overloaded(message())),
                503,
                "upstream_error",
                Some("overloaded"),
            ),
            (
                provider(ProviderError::ContextLengthExceeded(message())),
                400,
                "invalid_request_error",
                Some("context_length_exceeded"),
            ),
            (
                provider(ProviderError::InvalidRequest(message())),
                400,
                "invalid_request_error",
                Some("invalid_request"),
            ),
            (
                provider(ProviderError::Auth(message())),
                502,
                "upstream_error",
                Some("upstream_auth_failed"),
            ),
            (
                provider(ProviderError::ContentFiltered(message())),
                403,
                "invalid_request_error",
                Some("content_filtered"),
            ),
            (
                provider(ProviderError::UpstreamUnavailable(message())),
                502,
                "upstream_error",
                Some("upstream_error"),
            ),
            (
                provider(ProviderError::Internal(message())),
                502,
                "upstream_error",
                Some("upstream_error"),
            ),
            (
                DomainError::from(Failure::Plugin(PluginFault::contract("p", "broke"))),
                502,
                "upstream_error",
                Some("plugin_failed"),
            ),
            (
                DomainError::from(Failure::Timeout {
                    provider: "groq".to_owned(),
                    phase: "first byte",
                    limit: Duration::from_millis(10),
                }),
                504,
                "upstream_error",
                Some("upstream_timeout"),
            ),
            (
                DomainError::from(Failure::Transport {
                    provider: "groq".to_owned(),
                    message: message(),
                }),
                502,
                "upstream_error",
                Some("upstream_unreachable"),
            ),
            (
                DomainError::from(Failure::HostNotAllowed {
                    provider: "groq".to_owned(),
                    plugin: "p".to_owned(),
                    url: "https://elsewhere.example".to_owned(),
                }),
                502,
                "upstream_error",
                Some("host_not_allowed"),
            ),
        ]
    }

    #[test]
    fn every_error_keeps_its_status_type_and_code() {
        for (error, status, kind, code) in table() {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(error.kind(), kind, "{error:?}");
            assert_eq!(error.code(), code, "{error:?}");
        }
    }

    #[test]
    fn only_rate_limits_ask_the_client_to_wait() {
        for (error, ..) in table() {
            let expected = match &error {
                DomainError::KeyRateLimited { .. } => Some(3),
                _ => None,
            };
            assert_eq!(error.retry_after_secs(), expected, "{error:?}");
        }
        let limited = provider(ProviderError::RateLimited {
            message: "slow down".to_owned(),
            retry_after_ms: Some(1_001),
        });
        assert_eq!(limited.retry_after_secs(), Some(2), "rounded up");
    }

    #[test]
    fn messages_name_what_went_wrong() {
        let error = provider(ProviderError::Overloaded("busy".to_owned()));
        assert_eq!(error.to_string(), "groq: busy");
        let error = DomainError::NotAnEmbeddingModel {
            model: "chat/m".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "model chat/m is not an embedding model (its output modalities do not include `embeddings`)"
        );
        let error = DomainError::ModelNotFound {
            requested: "nope:free".to_owned(),
        };
        assert_eq!(error.to_string(), "model \"nope:free\" does not exist");
    }

    #[test]
    fn exclusions_are_named_or_the_policy_is_blamed() {
        let mut trace = RoutingTrace::default();
        let unmatched = |trace: RoutingTrace| {
            DomainError::NoEndpointMatches(Box::new(Unmatched {
                models: "a, b".to_owned(),
                disabled: Vec::new(),
                trace,
            }))
        };
        assert_eq!(
            unmatched(trace.clone()).to_string(),
            "the routing policy left no endpoint for a, b"
        );
        trace.models.push(crate::routing_trace::ModelTrace {
            requested: "a".to_owned(),
            model: "a".to_owned(),
            policy: None,
            policy_error: None,
            candidates: vec![crate::routing_trace::CandidateTrace {
                provider: "groq".to_owned(),
                excluded: Some("max_price"),
                reason: Some("too dear".to_owned()),
            }],
            disabled: Vec::new(),
        });
        assert_eq!(
            unmatched(trace).to_string(),
            "no endpoint of a, b matches the request's routing preferences (groq: too dear)"
        );
    }
}
