//! What of an upstream's error reaches the client. The adapter reads an error body with the
//! provider's secrets removed; an upstream that refused the operator's credentials or billing
//! (401, 402, 403) gets a fixed message, since its text names the operator's organisation,
//! project or quota (the raw text goes to the log at debug); and every error the adapter
//! classifies (from an error answer, a response or a stream) loses the provider's secrets and
//! anything shaped like an API key from its message.

use switchyard_catalog::Provider;
use switchyard_domain::plugin_types::ProviderError;

/// What replaces a removed secret.
const REDACTED: &str = "[redacted]";

/// Prefixes of well-known API key formats (OpenAI, Anthropic, Groq, xAI, Google, AWS access
/// key ids, GitHub); a word starting with one and at least [`KEY_MIN_LEN`] long is removed.
const KEY_PREFIXES: [&str; 9] = [
    "sk-", "sk_", "gsk_", "xai-", "AIza", "AKIA", "ASIA", "ghp_", "pk-",
];
const KEY_MIN_LEN: usize = 16;

/// The provider's secrets: its credential, its pooled credentials, AWS secret key and session
/// token.
pub fn secrets(provider: &Provider) -> Vec<&str> {
    let aws = provider.aws_credentials.as_ref();
    let pooled = (provider.credential_pool.iter()).flat_map(|pool| pool.secrets());
    [
        provider.credential.as_deref(),
        aws.map(|credentials| credentials.secret_access_key.as_str()),
        aws.and_then(|credentials| credentials.session_token.as_deref()),
    ]
    .into_iter()
    .flatten()
    .chain(pooled)
    .filter(|secret| !secret.is_empty())
    .collect()
}

/// An upstream error body with every occurrence of the provider's secrets, and of the
/// account's own key (`own`) when it has one, replaced.
pub fn body(provider: &Provider, own: Option<&str>, body: Vec<u8>) -> Vec<u8> {
    let mut secrets = secrets(provider);
    secrets.extend(own.filter(|secret| !secret.is_empty()));
    if secrets.is_empty() {
        return body;
    }
    let text = String::from_utf8_lossy(&body);
    if !secrets.iter().any(|secret| text.contains(secret)) {
        return body;
    }
    tracing::warn!(provider = %provider.name, "upstream error body echoes a credential: removed");
    remove_secrets(&text, &secrets).into_bytes()
}

/// The adapter's error for an upstream error answer of `status`: a fixed message for the
/// upstream's refusal of the operator's credentials or billing. The raw message is logged.
pub fn status(provider: &Provider, status: u16, error: ProviderError) -> ProviderError {
    tracing::debug!(provider = %provider.name, status, raw = %error.message(), "upstream error");
    let fixed = match status {
        401 => "the upstream provider refused the gateway's credentials",
        402 => "the upstream provider refused the request for billing reasons",
        403 => "the upstream provider refused the gateway's access",
        _ => return error,
    };
    with_message(
        error,
        format!("{fixed} (upstream {status}); see the gateway log"),
    )
}

/// An adapter's error (from an error answer, a response or a stream) without the provider's
/// secrets nor anything shaped like an API key in its message.
pub fn message(provider: &Provider, error: ProviderError) -> ProviderError {
    let clean = remove_keys(&remove_secrets(error.message(), &secrets(provider)));
    if clean == error.message() {
        return error;
    }
    with_message(error, clean)
}

fn remove_secrets(text: &str, secrets: &[&str]) -> String {
    secrets.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret, REDACTED)
    })
}

/// `text` with each word shaped like an API key (see [`KEY_PREFIXES`]) replaced.
fn remove_keys(text: &str) -> String {
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_key_char) {
        out.push_str(&rest[..start]);
        let word_and_rest = &rest[start..];
        let end = word_and_rest
            .find(|c: char| !is_key_char(c))
            .unwrap_or(word_and_rest.len());
        let word = &word_and_rest[..end];
        let key_shaped =
            word.len() >= KEY_MIN_LEN && KEY_PREFIXES.iter().any(|prefix| word.starts_with(prefix));
        out.push_str(if key_shaped { REDACTED } else { word });
        rest = &word_and_rest[end..];
    }
    out.push_str(rest);
    out
}

fn with_message(error: ProviderError, message: String) -> ProviderError {
    match error {
        ProviderError::RateLimited { retry_after_ms, .. } => ProviderError::RateLimited {
            message,
            retry_after_ms,
        },
        ProviderError::Overloaded(_) => ProviderError::Overloaded(message),
        ProviderError::ContextLengthExceeded(_) => ProviderError::ContextLengthExceeded(message),
        ProviderError::InvalidRequest(_) => ProviderError::InvalidRequest(message),
        ProviderError::Auth(_) => ProviderError::Auth(message),
        ProviderError::ContentFiltered(_) => ProviderError::ContentFiltered(message),
        ProviderError::UpstreamUnavailable(_) => ProviderError::UpstreamUnavailable(message),
        ProviderError::Internal(_) => ProviderError::Internal(message),
        ProviderError::Unsupported(_) => ProviderError::Unsupported(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shaped_words_are_removed() {
        let text = "Incorrect API key provided: sk-proj-abcdefghijklmnop1234. See https://x.";
        assert_eq!(
            remove_keys(text),
            "Incorrect API key provided: [redacted]. See https://x."
        );
        assert_eq!(
            remove_keys("the sk- prefix, short sk-abc"),
            "the sk- prefix, short sk-abc"
        );
        assert_eq!(remove_keys("AKIAIOSFODNN7EXAMPLE!"), "[redacted]!");
        assert_eq!(remove_keys("naïve ünïcode"), "naïve ünïcode");
    }

    #[test]
    fn secrets_are_removed_wherever_they_are() {
        let text = "echo: my-odd-secret and again my-odd-secret";
        assert_eq!(
            remove_secrets(text, &["my-odd-secret"]),
            "echo: [redacted] and again [redacted]"
        );
    }
}
