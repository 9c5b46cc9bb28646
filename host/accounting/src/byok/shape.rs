//! Whether an uploaded key has the shape of a key for its provider, so that a key pasted into
//! the wrong provider (or a truncated one) is refused at upload rather than at its first
//! request: printable ASCII without spaces, a plausible length, and the provider's published
//! prefix where it has one.

use switchyard_catalog::Provider;

/// Published key prefixes of built-in providers.
const PREFIXES: &[(&str, &str)] = &[
    ("openai", "sk-"),
    ("openai-responses", "sk-"),
    ("anthropic", "sk-ant-"),
    ("openrouter", "sk-or-"),
    ("groq", "gsk_"),
    ("xai", "xai-"),
    ("perplexity", "pplx-"),
    ("google", "AIza"),
    ("deepseek", "sk-"),
];

/// Shortest and longest key accepted.
const LENGTH: std::ops::RangeInclusive<usize> = 16..=1024;

/// `Ok` when `secret` may be `provider`'s key; otherwise why not (never repeating the key).
pub fn check(provider: &Provider, secret: &str) -> Result<(), String> {
    if provider.google_credentials.is_some() || provider.aws_credentials.is_some() {
        return Err(format!(
            "provider {} is authenticated by the host (Google or AWS credentials), not by a key",
            provider.name
        ));
    }
    if !LENGTH.contains(&secret.len()) {
        return Err(format!(
            "a key is {} to {} characters; this one is {}",
            LENGTH.start(),
            LENGTH.end(),
            secret.len()
        ));
    }
    if !secret.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err("a key is printable ASCII without spaces".to_owned());
    }
    if let Some((_, prefix)) = PREFIXES.iter().find(|(name, _)| *name == provider.name)
        && !secret.starts_with(prefix)
    {
        return Err(format!("a {} key starts with {prefix:?}", provider.name));
    }
    Ok(())
}
