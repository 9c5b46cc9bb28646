//! The cache key: a SHA-256 of everything that changes an answer (the canonical request without
//! `stream`, `stream_options` and `user`; the transforms that ran on it; the key's routing
//! policy; the client API's answer shape), and of the tenant whose entries it may read. The
//! tenant is part of the hash, so no header or field of a request can name another tenant's
//! entry; the account (or the operator, with accounting off) is also kept beside the hash, so
//! that `DELETE /admin/cache` can empty one account's entries.

use std::io::Write;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use switchyard_sdk::openai::{ChatRequest, Message, Stop, Tool};

use switchyard_domain::config::cache::CacheScope;

/// Fields of a chat request that change nothing in its answer's content.
const IGNORED_FIELDS: &[&str] = &["stream_options", "user"];

/// The requester, as far as the cache is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Tenant<'a> {
    /// Its key, account and team; `None` when accounting is off (the operator).
    pub key: Option<(&'a str, &'a str, Option<&'a str>)>,
}

impl Tenant<'_> {
    /// The account id, or `None` for the operator.
    pub fn account(&self) -> Option<&str> {
        self.key.map(|(_, account, _)| account)
    }

    /// Who shares entries with this tenant at `scope`.
    fn sharing(&self, scope: CacheScope) -> String {
        match (self.key, scope) {
            (None, _) => "operator".to_owned(),
            (Some((_, account, _)), CacheScope::Account) => format!("account:{account}"),
            (Some((_, account, None)), CacheScope::Team) => format!("account:{account}"),
            (Some((_, _, Some(team))), CacheScope::Team) => format!("team:{team}"),
            (Some((key, _, _)), CacheScope::Key) => format!("key:{key}"),
        }
    }
}

/// The tag of an account's entries (`None`: the operator's).
pub fn account_tag(account: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    match account {
        Some(account) => {
            hasher.update(b"account:");
            hasher.update(account.as_bytes());
        }
        None => hasher.update(b"operator"),
    }
    hex(&hasher.finalize()[..8])
}

/// Where an entry is kept: its account's tag and the digest of the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// [`account_tag`] of the tenant's account.
    pub account: String,
    /// The hex SHA-256 of the request and its sharing scope.
    pub digest: String,
}

impl CacheKey {
    /// The key as one string (`<account tag>:<digest>`).
    pub fn joined(&self) -> String {
        format!("{}:{}", self.account, self.digest)
    }
}

/// What a key is built from, besides the request itself.
#[derive(Debug, Clone, Copy)]
pub struct KeyParts<'a> {
    /// The requester.
    pub tenant: Tenant<'a>,
    /// Who shares entries.
    pub scope: CacheScope,
    /// The names of the request transforms that ran before the lookup, in order.
    pub transforms: &'a [&'a str],
    /// The key's routing policy.
    pub routing_policy: Option<&'a str>,
    /// The answer's shape: `chat`, `responses` (Responses items pass through) or `embeddings`.
    pub shape: &'a str,
}

impl KeyParts<'_> {
    fn hasher(&self) -> HashWriter {
        let mut hasher = HashWriter(Sha256::new());
        let sharing = self.tenant.sharing(self.scope);
        for part in [
            "switchyard-cache-v1",
            self.shape,
            &sharing,
            self.routing_policy.unwrap_or_default(),
        ] {
            hasher.0.update(part.as_bytes());
            hasher.0.update([0]);
        }
        for transform in self.transforms {
            hasher.0.update(transform.as_bytes());
            hasher.0.update([0]);
        }
        hasher.0.update([0xff]);
        hasher
    }

    fn finish(&self, hasher: HashWriter) -> CacheKey {
        CacheKey {
            account: account_tag(self.tenant.account()),
            digest: hex(&hasher.0.finalize()),
        }
    }

    /// The key of a chat request (`stream` aside: a whole answer serves a stream and back).
    pub fn chat(&self, request: &ChatRequest) -> CacheKey {
        let mut hasher = self.hasher();
        let canonical = Canonical {
            model: &request.model,
            messages: &request.messages,
            max_tokens: request.max_tokens,
            max_completion_tokens: request.max_completion_tokens,
            temperature: request.temperature,
            top_p: request.top_p,
            stop: request.stop.as_ref(),
            tools: request.tools.as_deref(),
            tool_choice: request.tool_choice.as_ref(),
            extra: Extra(&request.extra),
        };
        // Writing into a hasher cannot fail.
        let _ = serde_json::to_writer(&mut hasher, &canonical);
        self.finish(hasher)
    }

    /// The key of an embeddings request: its canonical body, model list and preferences.
    pub fn embeddings(&self, body: &[u8], models: &[String], preferences: &str) -> CacheKey {
        let mut hasher = self.hasher();
        for model in models {
            hasher.0.update(model.as_bytes());
            hasher.0.update([0]);
        }
        hasher.0.update(preferences.as_bytes());
        hasher.0.update([0]);
        hasher.0.update(body);
        self.finish(hasher)
    }
}

/// The fields of a chat request that make its answer.
#[derive(Serialize)]
struct Canonical<'a> {
    model: &'a str,
    messages: &'a [Message],
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stop: Option<&'a Stop>,
    tools: Option<&'a [Tool]>,
    tool_choice: Option<&'a Value>,
    extra: Extra<'a>,
}

/// The request's other fields, without [`IGNORED_FIELDS`].
struct Extra<'a>(&'a Map<String, Value>);

impl Serialize for Extra<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.0 {
            if !IGNORED_FIELDS.contains(&name.as_str()) {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// Feeds what is written into the hash.
struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str) -> ChatRequest {
        serde_json::from_str(body).expect("a chat request")
    }

    fn parts<'a>(key: Option<(&'a str, &'a str, Option<&'a str>)>) -> KeyParts<'a> {
        KeyParts {
            tenant: Tenant { key },
            scope: CacheScope::Account,
            transforms: &[],
            routing_policy: None,
            shape: "chat",
        }
    }

    const BASE: &str =
        r#"{"model":"a/b","messages":[{"role":"user","content":"hi"}],"temperature":0"#;

    #[test]
    fn stream_and_user_do_not_change_the_key_but_the_content_does() {
        let key = |extra: &str| parts(None).chat(&request(&format!("{BASE}{extra}}}")));
        let plain = key("");
        assert_eq!(
            plain,
            key(r#","stream":true,"stream_options":{"include_usage":true}"#)
        );
        assert_eq!(plain, key(r#","user":"u1""#));
        assert_ne!(plain, key(r#","max_tokens":5"#));
        assert_ne!(plain, key(r#","provider":{"order":["x"]}"#));
        assert_ne!(plain, key(r#","response_format":{"type":"json_object"}"#));
        let other = format!("{}}}", BASE.replace("hi", "ho"));
        assert_ne!(plain, parts(None).chat(&request(&other)));
    }

    #[test]
    fn tenants_transforms_policies_and_shapes_have_keys_of_their_own() {
        let body = request(&format!("{BASE}}}"));
        let a = parts(Some(("k1", "acme", None))).chat(&body);
        let b = parts(Some(("k2", "globex", None))).chat(&body);
        assert_ne!(a.digest, b.digest);
        assert_ne!(a.account, b.account);
        assert_eq!(
            a,
            parts(Some(("k9", "acme", None))).chat(&body),
            "one account shares"
        );
        let by_key = KeyParts {
            scope: CacheScope::Key,
            ..parts(Some(("k1", "acme", None)))
        };
        assert_ne!(
            by_key.chat(&body),
            parts(Some(("k9", "acme", None))).chat(&body)
        );
        let transformed = KeyParts {
            transforms: &["redact"],
            ..parts(None)
        };
        assert_ne!(transformed.chat(&body), parts(None).chat(&body));
        let routed = KeyParts {
            routing_policy: Some("cheap"),
            ..parts(None)
        };
        assert_ne!(routed.chat(&body), parts(None).chat(&body));
        let responses = KeyParts {
            shape: "responses",
            ..parts(None)
        };
        assert_ne!(responses.chat(&body), parts(None).chat(&body));
    }
}
