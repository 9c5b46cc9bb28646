//! `[transforms]` in the configuration: the transforms the operator attaches, in order, to every
//! request or to one account's, team's or key's, each with its options and what a fault does;
//! and the transforms a request's `plugins` (or `transforms`) field may add.
//!
//! ```toml
//! [transforms]
//! allow = ["response-healing", "middle-out", "file-parser"]
//!
//! [[transforms.attach]]
//! id = "deny-list"
//! options = { terms = ["project falcon"] }
//!
//! [[transforms.attach]]
//! id = "pii-redact"
//! team = "team_legal"
//! on_fault = "pass"
//!
//! [transforms.gates]
//! deny-list = "fixtures/deny-list"
//! ```

use serde::Deserialize;
use serde_json::{Map, Value};

/// The transforms section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformsConfig {
    /// Transforms a request may add by id (`plugins: [{"id": ...}]`, `transforms: [...]`).
    /// A request can never remove an attached one.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Transforms the operator attaches, run in this order.
    #[serde(default)]
    pub attach: Vec<Attachment>,
    /// Replay gates: a transform's folder of conformance cases (`*.case.json`) that every new
    /// version of it must pass before it takes traffic, canary included.
    #[serde(default)]
    pub gates: std::collections::BTreeMap<String, std::path::PathBuf>,
}

/// One attached transform.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// The transform plugin's name, e.g. `deny-list`.
    pub id: String,
    /// Its options, a table the transform checks when the gateway starts.
    #[serde(default)]
    pub options: Map<String, Value>,
    /// What a fault (trap, deadline, memory, broken output) does: refuse the request (the
    /// default: fail closed) or let it through unchanged.
    #[serde(default)]
    pub on_fault: OnFault,
    /// Only requests of this account (its id).
    #[serde(default)]
    pub account: Option<String>,
    /// Only requests of this team (its id).
    #[serde(default)]
    pub team: Option<String>,
    /// Only requests with this key (its id).
    #[serde(default)]
    pub key: Option<String>,
}

/// What a faulting transform does to its request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFault {
    /// Refuse the request (fail closed).
    #[default]
    Refuse,
    /// Go on as if the transform had passed.
    Pass,
}

/// Who a request is: what attachments are matched against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Requester<'a> {
    /// The key's id.
    pub key: Option<&'a str>,
    /// Its account's id.
    pub account: Option<&'a str>,
    /// Its team's id.
    pub team: Option<&'a str>,
}

impl Attachment {
    /// Whether it applies to `requester`: a global attachment to everyone, a scoped one to its
    /// account, team or key.
    pub fn applies_to(&self, requester: &Requester<'_>) -> bool {
        let matches = |wanted: &Option<String>, actual: Option<&str>| match wanted {
            None => true,
            Some(wanted) => actual == Some(wanted.as_str()),
        };
        matches(&self.account, requester.account)
            && matches(&self.team, requester.team)
            && matches(&self.key, requester.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_apply_globally_or_to_their_scope() {
        let config: TransformsConfig = toml::from_str(
            r#"
            allow = ["middle-out"]
            [[attach]]
            id = "deny-list"
            options = { terms = ["x"] }
            [[attach]]
            id = "pii-redact"
            team = "t1"
            on_fault = "pass"
            "#,
        )
        .expect("parses");
        let [global, team] = &config.attach[..] else {
            panic!("two attachments");
        };
        assert_eq!(global.on_fault, OnFault::Refuse);
        assert_eq!(team.on_fault, OnFault::Pass);
        let anyone = Requester::default();
        let member = Requester {
            team: Some("t1"),
            ..Requester::default()
        };
        assert!(global.applies_to(&anyone) && global.applies_to(&member));
        assert!(!team.applies_to(&anyone) && team.applies_to(&member));
        assert!(toml::from_str::<TransformsConfig>("[[attach]]\nid = \"x\"\nscope = 1").is_err());
    }
}
