//! Sticky routing: the turns of one conversation go to the endpoint that served the previous
//! turn, so the provider's prompt cache is hit rather than written again on another endpoint.
//!
//! A conversation is known by, in order: the `x-session-id` header, the body's `session_id`
//! (OpenRouter's field), `user` (`metadata.user_id` on the Messages API), or the conversation
//! prefix up to its first `cache_control` breakpoint. Its endpoint, per model, is remembered for
//! `routing.sticky.ttl_ms` after each success, and put first unless it failed within the last
//! [`FAILING_WINDOW`] or the request orders its providers itself (`provider.order`).

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::http::HeaderMap;
use serde_json::Value;
use switchyard_sdk::openai::{ChatRequest, Content};
use tokio::time::Instant;

use switchyard_domain::config::routing::StickyConfig;

use super::Candidate;

/// An endpoint that failed this recently is not kept for a conversation.
pub const FAILING_WINDOW: Duration = Duration::from_secs(30);

/// What identifies a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Session(u64);

impl Session {
    /// The session of a request: its `x-session-id` header, else what its body says.
    pub fn of(headers: &HeaderMap, request: &ChatRequest) -> Option<Session> {
        let header = headers
            .get("x-session-id")
            .and_then(|value| value.to_str().ok())
            .filter(|value| !value.is_empty());
        if let Some(id) = header {
            return Some(Session::hash(("session", id)));
        }
        let field = |name: &str| {
            request
                .extra
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        if let Some(id) = field("session_id") {
            return Some(Session::hash(("session", id)));
        }
        if let Some(user) = field("user") {
            return Some(Session::hash(("user", user)));
        }
        cache_prefix(request)
    }

    /// The session as seen within `account` (`None`: accounting off, one tenant): accounts
    /// sending the same id or prompt prefix have different sessions.
    pub fn within(self, account: Option<&str>) -> Session {
        match account {
            Some(account) => Session::hash(("account", account, self.0)),
            None => self,
        }
    }

    fn hash(value: impl Hash) -> Session {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        Session(hasher.finish())
    }
}

/// The conversation up to and including its first part marked `cache_control`. The text is
/// hashed only when such a part exists: most requests have none, and hashing every message of
/// a long conversation for nothing was one more pass over the body.
fn cache_prefix(request: &ChatRequest) -> Option<Session> {
    let marked = request
        .messages
        .iter()
        .any(|message| match &message.content {
            Some(Content::Parts(parts)) => parts
                .iter()
                .any(|part| part.extra.contains_key("cache_control")),
            _ => false,
        });
    if !marked {
        return None;
    }
    let mut hasher = DefaultHasher::new();
    for message in &request.messages {
        let Some(content) = &message.content else {
            continue;
        };
        match content {
            Content::Text(text) => text.hash(&mut hasher),
            Content::Parts(parts) => {
                for part in parts {
                    part.text.hash(&mut hasher);
                    part.image_url
                        .as_ref()
                        .map(|image| &image.url)
                        .hash(&mut hasher);
                    if part.extra.contains_key("cache_control") {
                        return Some(Session(hasher.finish()));
                    }
                }
            }
        }
    }
    None
}

/// The remembered endpoints.
#[derive(Debug)]
pub struct Sticky {
    config: StickyConfig,
    entries: Mutex<HashMap<(Session, String), Remembered>>,
}

#[derive(Debug)]
struct Remembered {
    provider: String,
    until: Instant,
}

impl Sticky {
    /// An empty memory.
    pub fn new(config: StickyConfig) -> Sticky {
        Sticky {
            config,
            entries: Mutex::default(),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<(Session, String), Remembered>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts the session's endpoint for the first candidate's model first, when it is remembered,
    /// still a candidate and not failing. Returns its provider when it did.
    pub fn apply(&self, session: Session, candidates: &mut [Candidate]) -> Option<String> {
        let model = candidates.first()?.model.id.clone();
        let provider = {
            let entries = self.entries();
            let remembered = entries.get(&(session, model.clone()))?;
            (remembered.until > Instant::now()).then(|| remembered.provider.clone())?
        };
        let position = candidates.iter().position(|candidate| {
            candidate.model.id == model && candidate.endpoint.provider.name == provider
        })?;
        let failing = candidates[position]
            .endpoint
            .stats
            .snapshot()
            .ms_since_last_failure
            .is_some_and(|ms| ms < FAILING_WINDOW.as_millis() as u64);
        if failing {
            return None;
        }
        candidates[..=position].rotate_right(1);
        Some(provider)
    }

    /// Remembers that `provider` served the session's turn of `model`.
    pub fn remember(&self, session: Session, model: &str, provider: &str) {
        if self.config.ttl_ms == 0 {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries();
        if entries.len() >= self.config.max_sessions {
            entries.retain(|_, remembered| remembered.until > now);
            if entries.len() >= self.config.max_sessions {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, remembered)| remembered.until)
                    .map(|(key, _)| key.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(
            (session, model.to_owned()),
            Remembered {
                provider: provider.to_owned(),
                until: now + Duration::from_millis(self.config.ttl_ms),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: serde_json::Value) -> ChatRequest {
        serde_json::from_value(body).expect("chat request")
    }

    #[test]
    fn sessions_come_from_the_header_the_body_or_the_cached_prefix() {
        let plain = request(
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(Session::of(&HeaderMap::new(), &plain), None);

        let mut headers = HeaderMap::new();
        headers.insert("x-session-id", "abc".parse().expect("header"));
        let with_id = request(
            serde_json::json!({"model": "m", "session_id": "abc", "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(
            Session::of(&headers, &plain),
            Session::of(&HeaderMap::new(), &with_id)
        );

        let turn = |last: &str| {
            request(serde_json::json!({"model": "m", "messages": [
                {"role": "system", "content": [{"type": "text", "text": "long prompt", "cache_control": {"type": "ephemeral"}}]},
                {"role": "user", "content": last}
            ]}))
        };
        let first = Session::of(&HeaderMap::new(), &turn("one"));
        let scoped = first.map(|session| session.within(Some("acme")));
        assert_ne!(scoped, first, "scoped to its account");
        assert_ne!(scoped, first.map(|session| session.within(Some("other"))));
        assert_eq!(first.map(|session| session.within(None)), first);
        assert!(first.is_some());
        assert_eq!(first, Session::of(&HeaderMap::new(), &turn("two")));
    }
}
