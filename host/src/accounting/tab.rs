//! The accounting of one request: the key it spends from, the amount held before the first
//! upstream call (the gateway computes it: [`crate::pricing::worst_case`]), the failed attempts,
//! and the settlement once the cost is known. A settlement never charges more than its hold: a
//! cost above it (or too large to be money) is charged the hold, logged, and the record keeps
//! the excess and why. A tab dropped unsettled (the client went away before any output)
//! releases its hold.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::holds::Holds;
use super::money::{Nanos, now, to_nanos};
use super::policy;
use super::rate::RateLimiter;
use super::storage_error;
use super::store::{GenerationRecord, KeyRecord, Refusal, Reservation};
use crate::error::DomainError;
use crate::plugins::types::Usage;
use crate::pricing::Cost;
use crate::routing::Candidate;

/// One request's accounting; the default tab (accounting disabled) does nothing.
#[derive(Debug, Clone, Default)]
pub struct Tab {
    state: Option<Arc<TabState>>,
}

#[derive(Debug)]
struct TabState {
    holds: Holds,
    limiter: Arc<RateLimiter>,
    key: KeyRecord,
    reservation: Mutex<Option<Reservation>>,
    attempts: Mutex<Vec<Value>>,
    started: Instant,
    /// Keeps the gateway's drain waiting until this tab is dropped (settled or released).
    _open: Option<mpsc::Sender<()>>,
}

/// What a served generation used and cost.
#[derive(Debug, Clone)]
pub struct Charge<'a> {
    /// The generation id.
    pub id: &'a str,
    /// The model that served.
    pub model: &'a str,
    /// The provider that served.
    pub provider: &'a str,
    /// Native usage (estimated for the part a cancelled stream did not report).
    pub usage: Usage,
    /// The provider reported no usage: `usage` is an estimate.
    pub usage_estimated: bool,
    /// Its cost.
    pub cost: Cost,
    /// Time to the first output.
    pub latency: Duration,
    /// Normalised finish reason, when one arrived.
    pub finish_reason: Option<&'static str>,
    /// Streamed.
    pub streamed: bool,
    /// The client went away before the end.
    pub cancelled: bool,
}

impl Tab {
    /// A tab spending from `key`, its tokens counted by `limiter`; `open` keeps the gateway's
    /// drain waiting for it.
    pub fn new(
        holds: Holds,
        limiter: Arc<RateLimiter>,
        key: KeyRecord,
        open: Option<mpsc::Sender<()>>,
    ) -> Tab {
        Tab {
            state: Some(Arc::new(TabState {
                holds,
                limiter,
                key,
                reservation: Mutex::new(None),
                attempts: Mutex::new(Vec::new()),
                started: Instant::now(),
                _open: open,
            })),
        }
    }

    /// Holds `worst` (the most the request can cost, `None` when that is too large to be
    /// money); refused when the key's limit or its account's credits have no room for it.
    pub async fn reserve(&self, worst: Option<Decimal>) -> Result<(), DomainError> {
        let Some(state) = &self.state else {
            return Ok(());
        };
        let amount = worst
            .and_then(to_nanos)
            .ok_or(DomainError::CostOutOfRange)?;
        let reservation = state
            .holds
            .reserve(&state.key, amount)
            .await
            .map_err(storage_error)?
            .map_err(|refusal| refused(refusal, amount))?;
        *lock(&state.reservation) = Some(reservation);
        Ok(())
    }

    /// Notes a failed attempt for the generation record.
    pub fn record_attempt(&self, attempt: &Value) {
        if let Some(state) = &self.state {
            lock(&state.attempts).push(attempt.clone());
        }
    }

    /// The key's id and its account's id; `None` when accounting is off.
    pub fn key_and_account(&self) -> Option<(&str, &str)> {
        let key = &self.state.as_ref()?.key;
        Some((&key.id, &key.account_id))
    }

    /// The team of the request's key, when accounting is on and the key has one.
    pub fn team_id(&self) -> Option<&str> {
        self.state.as_ref()?.key.team_id.as_deref()
    }

    /// Leaves out the `candidates` a level of the key's organisation refuses; refused (403)
    /// when none is left, naming the level and the rule that left out the first.
    pub fn admit_candidates(&self, candidates: &mut Vec<Candidate>) -> Result<(), DomainError> {
        let Some(state) = &self.state else {
            return Ok(());
        };
        policy::admit_candidates(&state.key, candidates)
            .map_err(|refusal| DomainError::PolicyRefused(Box::new(refusal)))
    }

    /// The routing policy the key chose, if any.
    pub fn routing_policy(&self) -> Option<&str> {
        self.state.as_ref()?.key.routing_policy.as_deref()
    }

    /// Charges the served generation (at most its hold) and releases the rest of the hold;
    /// durable within the settlement lag ([`super::settler`]).
    pub async fn settle(&self, charge: Charge<'_>) {
        let Some(state) = &self.state else {
            return;
        };
        let Some(reservation) = lock(&state.reservation).take() else {
            return;
        };
        let record = state.record(&reservation, &charge);
        if let Some(note) = &record.charge_note {
            tracing::warn!(id = %record.id, key = %reservation.key_id, held = reservation.amount, excess = record.excess_cost, %note, "cost above the hold: charged the hold");
        }
        let tokens = charge
            .usage
            .prompt_tokens
            .saturating_add(charge.usage.completion_tokens);
        state.limiter.spend_tokens(&state.key, tokens).await;
        state.holds.settle(reservation, record).await;
    }

    /// Releases the hold without charging (no endpoint served).
    pub fn release(&self) {
        let Some(state) = &self.state else {
            return;
        };
        let Some(reservation) = lock(&state.reservation).take() else {
            return;
        };
        state.holds.release(&reservation);
    }
}

impl TabState {
    fn record(&self, reservation: &Reservation, charge: &Charge<'_>) -> GenerationRecord {
        let tokens = |count: u64| i64::try_from(count).unwrap_or(i64::MAX);
        let millis = |elapsed: Duration| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
        let bounded = BoundedCost::of(&charge.cost, reservation.amount);
        GenerationRecord {
            id: charge.id.to_owned(),
            key_id: reservation.key_id.clone(),
            account_id: reservation.account_id.clone(),
            team_id: self.key.team_id.clone(),
            budgets: Vec::new(),
            model: charge.model.to_owned(),
            provider: charge.provider.to_owned(),
            prompt_tokens: tokens(charge.usage.prompt_tokens),
            completion_tokens: tokens(charge.usage.completion_tokens),
            reasoning_tokens: tokens(charge.usage.reasoning_tokens),
            cached_tokens: tokens(charge.usage.cached_tokens),
            cache_write_tokens: tokens(charge.usage.cache_write_tokens),
            cost: bounded.cost,
            upstream_cost: bounded.upstream,
            usage_estimated: charge.usage_estimated,
            excess_cost: bounded.excess,
            charge_note: bounded.note.map(str::to_owned),
            latency_ms: millis(charge.latency),
            generation_ms: millis(self.started.elapsed()),
            finish_reason: charge.finish_reason.map(str::to_owned),
            streamed: charge.streamed,
            cancelled: charge.cancelled,
            attempts: Value::Array(lock(&self.attempts).clone()).to_string(),
            created_at: now(),
        }
    }
}

/// A call's cost bounded by its hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BoundedCost {
    /// Charged, nano-USD: at most the hold.
    cost: Nanos,
    /// The upstream's part, nano-USD: at most `cost`.
    upstream: Nanos,
    /// What the cost exceeded the hold by, nano-USD (`Nanos::MAX` when out of range).
    excess: Nanos,
    /// Why the charge is not the cost, when it is not.
    note: Option<&'static str>,
}

impl BoundedCost {
    fn of(cost: &Cost, held: Nanos) -> BoundedCost {
        match (to_nanos(cost.total), to_nanos(cost.upstream)) {
            (Some(total), Some(upstream)) if total <= held => BoundedCost {
                cost: total,
                upstream: upstream.min(total),
                excess: 0,
                note: None,
            },
            (Some(total), Some(upstream)) => BoundedCost {
                cost: held,
                upstream: upstream.min(held),
                excess: total.saturating_sub(held),
                note: Some("cost_above_hold"),
            },
            _ => BoundedCost {
                cost: held,
                upstream: held,
                excess: Nanos::MAX,
                note: Some("cost_out_of_range"),
            },
        }
    }
}

impl Drop for TabState {
    fn drop(&mut self) {
        let Some(reservation) = lock(&self.reservation).take() else {
            return;
        };
        self.holds.release(&reservation);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn refused(refusal: Refusal, required: Nanos) -> DomainError {
    match refusal {
        Refusal::KeyLimit => DomainError::KeyLimitReached { required },
        Refusal::Credits => DomainError::InsufficientCredits { required },
        Refusal::KeyUnusable => DomainError::ApiKeyUnusable,
        Refusal::Budget(level) => DomainError::BudgetReached { level, required },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(total: Decimal, upstream: Decimal) -> Cost {
        Cost { upstream, total }
    }

    #[test]
    fn a_charge_never_passes_its_hold() {
        let usd = |nanos: i64| Decimal::new(nanos, 9);
        assert_eq!(
            BoundedCost::of(&cost(usd(900), usd(800)), 1_000),
            BoundedCost {
                cost: 900,
                upstream: 800,
                excess: 0,
                note: None
            }
        );
        assert_eq!(
            BoundedCost::of(&cost(usd(1_500), usd(1_400)), 1_000),
            BoundedCost {
                cost: 1_000,
                upstream: 1_000,
                excess: 500,
                note: Some("cost_above_hold")
            }
        );
        assert_eq!(
            BoundedCost::of(&Cost::OUT_OF_RANGE, 1_000),
            BoundedCost {
                cost: 1_000,
                upstream: 1_000,
                excess: Nanos::MAX,
                note: Some("cost_out_of_range")
            }
        );
    }
}
