//! Why one attempt at one endpoint failed, and whether the next endpoint should be tried. The
//! answer the client sees is [`crate::error::DomainError::Upstream`]'s.

use std::time::Duration;

use crate::plugin_fault::PluginFault;
use crate::plugin_types::ProviderError;

/// A failed attempt.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    /// The adapter classified the upstream's answer.
    #[error("{provider}: {}", .error.message())]
    Provider {
        /// Provider name.
        provider: String,
        /// The typed error.
        error: ProviderError,
    },
    /// The plugin trapped, ran past its deadline or memory, or broke the contract.
    #[error(transparent)]
    Plugin(#[from] PluginFault),
    /// The upstream did not answer in time.
    #[error("{provider}: no {phase} within {} ms", limit.as_millis())]
    Timeout {
        /// Provider name.
        provider: String,
        /// Which timeout fired: `first byte`, `data (idle)` or `complete response`.
        phase: &'static str,
        /// The limit.
        limit: Duration,
    },
    /// The connection failed or broke.
    #[error("{provider}: {message}")]
    Transport {
        /// Provider name.
        provider: String,
        /// What happened.
        message: String,
    },
    /// The adapter built a request to a host it may not reach.
    #[error("{provider}: plugin {plugin} built a request to {url}, outside its allowed hosts")]
    HostNotAllowed {
        /// Provider name.
        provider: String,
        /// Plugin name.
        plugin: String,
        /// The refused URL (without query).
        url: String,
    },
    /// A transform refused the answer (or broke it): final, blaming neither the endpoint nor
    /// its adapter.
    #[error(transparent)]
    Refused(Box<crate::transform_refusal::TransformRefusal>),
}

impl Failure {
    /// Whether the next endpoint should be tried. Errors about the request itself are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            Failure::Provider { error, .. } => match error {
                ProviderError::RateLimited { .. }
                | ProviderError::Overloaded(_)
                | ProviderError::Auth(_)
                | ProviderError::UpstreamUnavailable(_)
                | ProviderError::Internal(_)
                | ProviderError::Unsupported(_) => true,
                ProviderError::ContextLengthExceeded(_)
                | ProviderError::InvalidRequest(_)
                | ProviderError::ContentFiltered(_) => false,
            },
            Failure::Refused(_) => false,
            Failure::Plugin(_)
            | Failure::Timeout { .. }
            | Failure::Transport { .. }
            | Failure::HostNotAllowed { .. } => true,
        }
    }

    /// The upstream refused the request itself (invalid, too long, refused content): such an
    /// answer says nothing about the adapter version, and canary judgement ignores it.
    pub fn caused_by_request(&self) -> bool {
        matches!(
            self,
            Failure::Provider {
                error: ProviderError::ContextLengthExceeded(_)
                    | ProviderError::InvalidRequest(_)
                    | ProviderError::ContentFiltered(_),
                ..
            } | Failure::Refused(_)
        )
    }

    /// How this failure reflects on the endpoint: `None` when the request itself was at fault
    /// (invalid, too long, refused content), or the adapter plugin was (a trap, a broken answer,
    /// its own internal error, a request to a host it may not reach): the plugin version's own breaker and canary
    /// judgement count those, and an endpoint must not leave rotation because of a bad plugin
    /// version.
    pub fn endpoint_class(&self) -> Option<FailureClass> {
        match self {
            Failure::Provider { error, .. } => match error {
                ProviderError::RateLimited { .. } => Some(FailureClass::RateLimited),
                ProviderError::ContextLengthExceeded(_)
                | ProviderError::InvalidRequest(_)
                | ProviderError::ContentFiltered(_)
                | ProviderError::Internal(_)
                | ProviderError::Unsupported(_) => None,
                ProviderError::Overloaded(_)
                | ProviderError::Auth(_)
                | ProviderError::UpstreamUnavailable(_) => Some(FailureClass::Fault),
            },
            Failure::Timeout { .. } | Failure::Transport { .. } => Some(FailureClass::Fault),
            Failure::Plugin(_) | Failure::HostNotAllowed { .. } | Failure::Refused(_) => None,
        }
    }

    /// Whether the adapter version may have caused this, so that its canary judgement counts it:
    /// faults, refused hosts and every error the upstream answered with (a request the adapter
    /// mistranslated is refused upstream), except refusals of the request itself (invalid, too
    /// long, filtered: see [`Failure::caused_by_request`]). A connection that failed, timed out or sent more
    /// than the gateway accepts says nothing about the adapter.
    /// An `unsupported` answer blames nobody: the adapter said what its upstream cannot do.
    pub fn may_blame_plugin(&self) -> bool {
        match self {
            Failure::Provider {
                error: ProviderError::Unsupported(_),
                ..
            } => false,
            Failure::Provider { .. } => !self.caused_by_request(),
            Failure::Plugin(_) | Failure::HostNotAllowed { .. } => true,
            Failure::Timeout { .. } | Failure::Transport { .. } | Failure::Refused(_) => false,
        }
    }

    /// Whether the adapter version itself failed, whatever the upstream did: it faulted (trap,
    /// deadline, memory, malformed output), reported an internal error, or built a request for a
    /// host it may not reach. Another version of the adapter may succeed on the same endpoint.
    pub fn is_adapter_fault(&self) -> bool {
        match self {
            Failure::Plugin(_) | Failure::HostNotAllowed { .. } => true,
            Failure::Provider { error, .. } => matches!(error, ProviderError::Internal(_)),
            Failure::Timeout { .. } | Failure::Transport { .. } | Failure::Refused(_) => false,
        }
    }

    /// A short label for logs and attempt records.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Provider { error, .. } => match error {
                ProviderError::RateLimited { .. } => "rate_limited",
                ProviderError::Overloaded(_) => "overloaded",
                ProviderError::ContextLengthExceeded(_) => "context_length_exceeded",
                ProviderError::InvalidRequest(_) => "invalid_request",
                ProviderError::Auth(_) => "upstream_auth",
                ProviderError::ContentFiltered(_) => "content_filtered",
                ProviderError::UpstreamUnavailable(_) => "upstream_unavailable",
                ProviderError::Internal(_) => "adapter_internal",
                ProviderError::Unsupported(_) => "unsupported",
            },
            Failure::Plugin(_) => "plugin_failed",
            Failure::Timeout { .. } => "timeout",
            Failure::Transport { .. } => "transport",
            Failure::HostNotAllowed { .. } => "host_not_allowed",
            Failure::Refused(_) => "transform_refused",
        }
    }
}

/// How a failed attempt reflects on the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// The endpoint rate-limited the request (429 or the provider's equivalent).
    RateLimited,
    /// The endpoint failed: 5xx, timeout, broken connection, invalid answer, adapter fault.
    Fault,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_failure_reads_as_words_not_rust_debug_output() {
        let failure = Failure::Provider {
            provider: "gemini".to_owned(),
            error: ProviderError::ContentFiltered("gemini blocked the prompt".to_owned()),
        };
        assert_eq!(failure.to_string(), "gemini: gemini blocked the prompt");
        let limited = Failure::Provider {
            provider: "groq".to_owned(),
            error: ProviderError::RateLimited {
                message: "slow down".to_owned(),
                retry_after_ms: Some(5),
            },
        };
        assert_eq!(limited.to_string(), "groq: slow down");
    }
}
