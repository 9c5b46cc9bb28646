//! The recent activity the dashboard shows: the last [`CAPACITY`] served generations, kept in
//! memory by this gateway (its ids, model, provider, key, tokens, cost and timings).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use switchyard_accounting::tab::Charge;

/// How many generations are kept.
pub const CAPACITY: usize = 2_000;

/// One served generation.
#[derive(Debug, Clone, Serialize)]
pub struct Served {
    /// Generation id (`gen-…`).
    pub id: String,
    /// Unix milliseconds when it was served.
    pub at_ms: u64,
    /// The model asked for.
    pub requested_model: String,
    /// The model that served.
    pub model: String,
    /// The provider that served.
    pub provider: String,
    /// The API key's id, when accounting is on.
    pub key_id: Option<String>,
    /// The key's team, if any.
    pub team: Option<String>,
    /// The end user the request named, if any.
    pub user: Option<String>,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// USD charged, fee included.
    pub cost: Decimal,
    /// Milliseconds to the first output.
    pub latency_ms: u64,
    /// Milliseconds of the serving attempt.
    pub duration_ms: u64,
    /// Streamed.
    pub streamed: bool,
    /// Normalised finish reason (`error` for a stream that failed after its first chunk).
    pub finish_reason: Option<&'static str>,
    /// The client went away before the end.
    pub cancelled: bool,
}

/// Who a generation was served for, when accounting is on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Who<'a> {
    /// The API key's id.
    pub key: Option<&'a str>,
    /// The key's team.
    pub team: Option<&'a str>,
    /// The request's end user.
    pub user: Option<&'a str>,
}

impl Served {
    /// The record of `charge`, served for `who`'s request for `requested_model` in `duration`.
    pub fn of(
        charge: &Charge<'_>,
        requested_model: &str,
        who: Who<'_>,
        duration: Duration,
    ) -> Served {
        let millis = |elapsed: Duration| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        Served {
            id: charge.id.to_owned(),
            at_ms: millis(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default(),
            ),
            requested_model: requested_model.to_owned(),
            model: charge.model.to_owned(),
            provider: charge.provider.to_owned(),
            key_id: who.key.map(str::to_owned),
            team: who.team.map(str::to_owned),
            user: who.user.map(str::to_owned),
            prompt_tokens: charge.usage.prompt_tokens,
            completion_tokens: charge.usage.completion_tokens,
            cost: charge.cost.total,
            latency_ms: millis(charge.latency),
            duration_ms: millis(duration),
            streamed: charge.streamed,
            finish_reason: charge.finish_reason,
            cancelled: charge.cancelled,
        }
    }
}

/// What to look for; every given field must match.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// Generation id.
    #[serde(default)]
    pub id: Option<String>,
    /// API key id.
    #[serde(default)]
    pub key: Option<String>,
    /// Team id.
    #[serde(default)]
    pub team: Option<String>,
    /// End user id.
    #[serde(default)]
    pub user: Option<String>,
    /// Model asked for or served.
    #[serde(default)]
    pub model: Option<String>,
    /// Finish reason (`stop`, `length`, `tool_calls`, `error`...), or `cancelled`.
    #[serde(default)]
    pub status: Option<String>,
}

impl Search {
    fn matches(&self, served: &Served) -> bool {
        let given =
            |field: &Option<String>, value: &str| field.as_deref().is_none_or(|f| f == value);
        let status = if served.cancelled {
            "cancelled"
        } else {
            served.finish_reason.unwrap_or("unknown")
        };
        given(&self.id, &served.id)
            && given(&self.key, served.key_id.as_deref().unwrap_or(""))
            && given(&self.team, served.team.as_deref().unwrap_or(""))
            && given(&self.user, served.user.as_deref().unwrap_or(""))
            && (given(&self.model, &served.model) || given(&self.model, &served.requested_model))
            && given(&self.status, status)
    }
}

static RECENT: Mutex<VecDeque<Served>> = Mutex::new(VecDeque::new());

/// Keeps `served`, dropping the oldest past [`CAPACITY`].
pub fn record(served: Served) {
    let mut recent = RECENT.lock().unwrap_or_else(PoisonError::into_inner);
    if recent.len() == CAPACITY {
        recent.pop_front();
    }
    recent.push_back(served);
}

/// The kept generations matching `search`, oldest first.
pub fn search(search: &Search) -> Vec<Served> {
    let recent = RECENT.lock().unwrap_or_else(PoisonError::into_inner);
    recent
        .iter()
        .filter(|served| search.matches(served))
        .cloned()
        .collect()
}
