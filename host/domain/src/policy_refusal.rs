//! Why a level of an organisation (the account, a team, a key, an end user) refuses a request:
//! the levels, the names of the rules a level sets, and a policy refusal. Only std and external
//! crates here: the domain error names these.

use std::fmt;

use serde::Serialize;

/// A level of an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The account (the organisation).
    Account,
    /// A team of the account.
    Team,
    /// The API key.
    Key,
    /// The end user a request names (`user`, `metadata.user_id`, `X-Switchyard-User`).
    #[serde(rename = "end_user")]
    EndUser,
}

impl Level {
    /// Its name in messages and codes.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Account => "account",
            Level::Team => "team",
            Level::Key => "key",
            Level::EndUser => "end_user",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The names of the rules, as the admin API spells them.
pub const RULES: [&str; 5] = [
    "allowed_models",
    "allowed_providers",
    "denied_providers",
    "max_price",
    "data_policy",
];

/// Why a level refuses a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRefusal {
    /// The level that refuses.
    pub level: Level,
    /// Its id (account, team or key id).
    pub id: String,
    /// The rule (one of [`RULES`]).
    pub rule: &'static str,
    /// What the rule refused.
    pub detail: String,
}

impl fmt::Display for PolicyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} {:?} does not allow this request: {} ({})",
            self.level, self.id, self.detail, self.rule
        )
    }
}
