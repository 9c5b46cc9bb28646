//! What a key's team and account impose on it, read with the key: each level's rules and rate
//! limits, the budget rows a hold is taken against, and what the account sets for its end
//! users.

use std::sync::Arc;

use super::model_budgets::ModelBudget;
use super::policy::Policy;
use switchyard_domain::money::{LimitReset, Nanos};
use switchyard_domain::store_error::StoreError;

/// What a key's team and account impose on it, read with the key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// The account's rules.
    pub account: LevelRules,
    /// The team's, when the key is in one.
    pub team: Option<LevelRules>,
    /// The budget rows every hold of the key is taken against too, ascending (lock order).
    pub budgets: Arc<[String]>,
    /// The budgets the key and its team set on models (a hold is taken against those matching
    /// a model the request may be served by).
    pub model_budgets: Arc<[ModelBudget]>,
    /// `budgets` and every one of `model_budgets`, ascending: what a hold for a request that
    /// every model budget covers is taken against (the usual case, worked out once).
    pub budgets_with_models: Arc<[String]>,
    /// What the account sets for each of its end users.
    pub end_users: EndUserRules,
}

/// The rules and rate limits of one level.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LevelRules {
    /// The account or team id.
    pub id: String,
    /// Its rules.
    pub policy: Policy,
    /// Requests per minute of all its keys together.
    pub requests_per_minute: Option<i64>,
    /// Tokens per minute of all its keys together.
    pub tokens_per_minute: Option<i64>,
}

/// How many end users an account has at most unless it says otherwise.
pub const DEFAULT_MAX_END_USERS: i64 = 100_000;

/// What an account sets for each of its end users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndUserRules {
    /// Distinct end user ids the account may have.
    pub max_end_users: i64,
    /// Each end user's budget, nano-USD.
    pub limit: Option<Nanos>,
    /// When each end user's budget starts over.
    pub limit_reset: Option<LimitReset>,
    /// Each end user's requests per minute.
    pub requests_per_minute: Option<i64>,
    /// Each end user's tokens per minute.
    pub tokens_per_minute: Option<i64>,
}

impl Default for EndUserRules {
    fn default() -> Self {
        EndUserRules {
            max_end_users: DEFAULT_MAX_END_USERS,
            limit: None,
            limit_reset: None,
            requests_per_minute: None,
            tokens_per_minute: None,
        }
    }
}

/// Reads a stored policy: absent, none; unreadable, an error (never "allow everything").
pub(crate) fn stored_policy(text: Option<String>) -> Result<Policy, StoreError> {
    match text {
        None => Ok(Policy::default()),
        Some(text) => serde_json::from_str(&text).map_err(|_| StoreError::Corrupt("policy")),
    }
}
