//! The accounting of one request: the key it spends from, the amount held before the first
//! upstream call (the gateway computes it: [`crate::worst_case`]), the failed attempts,
//! and the settlement once the cost is known. A settlement never charges more than its hold: a
//! cost above it (or too large to be money) is charged the hold, logged, and the record keeps
//! the excess and why. A tab dropped unsettled (the client went away before any output)
//! releases its hold.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::end_users::{EndUser, MAX_ID_BYTES, Registration, end_user_budget};
use super::holds::Holds;
use super::model_budgets::ModelBudget;
use super::policy;
use super::rate::RateLimiter;
use super::storage_error;
use super::store::{GenerationRecord, KeyRecord, Refusal, Reservation};
use crate::byok::AccountCredential;
use crate::byok::{AccountKeys, fee};
use switchyard_catalog::credentials::ServedBy;
use switchyard_domain::config::AcceptedFailureCharge;
use switchyard_domain::error::DomainError;
use switchyard_domain::money::{Nanos, now, to_nanos};
use switchyard_domain::plugin_types::Usage;
use switchyard_domain::pricing::Cost;
use switchyard_routing::Candidate;

/// One request's accounting; the default tab (accounting disabled) does nothing.
#[derive(Debug, Clone, Default)]
pub struct Tab {
    state: Option<Arc<TabState>>,
}

#[derive(Debug)]
struct TabState {
    holds: Holds,
    limiter: Arc<RateLimiter>,
    key: Arc<KeyRecord>,
    byok: Option<Arc<AccountKeys>>,
    /// The end user the request names, once known.
    end_user: OnceLock<EndUser>,
    reservation: Mutex<Option<Reservation>>,
    attempts: Mutex<Vec<Value>>,
    /// Whether failed attempts the upstream accepted are charged.
    charge_accepted: AcceptedFailureCharge,
    /// What those attempts cost so far: charged with the served generation, or on their own
    /// when none serves.
    accepted_failures: Mutex<Option<AcceptedFailures>>,
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
    /// Answered from the response cache: no upstream call.
    pub cache_hit: bool,
    /// Served on the account's own provider key.
    pub byok: bool,
}

/// The failed attempts of one request that the upstream accepted, charged their estimated
/// prompts (see [`AcceptedFailureCharge`]).
#[derive(Debug, Clone)]
struct AcceptedFailures {
    /// The id of their own record, when no attempt serves.
    id: String,
    /// The model and provider of the last one, for a record of their own.
    model: String,
    provider: String,
    /// Estimated prompt tokens, all attempts together.
    prompt_tokens: u64,
    /// Their cost, all attempts together.
    cost: Cost,
}

impl Tab {
    /// A tab spending from `key`, its tokens counted by `limiter`, its account's own provider
    /// keys `byok`; `open` keeps the gateway's drain waiting for it; `charge_accepted` says
    /// whether failed attempts the upstream accepted are charged.
    pub fn new(
        holds: Holds,
        limiter: Arc<RateLimiter>,
        key: Arc<KeyRecord>,
        byok: Option<Arc<AccountKeys>>,
        open: Option<mpsc::Sender<()>>,
        charge_accepted: AcceptedFailureCharge,
    ) -> Tab {
        Tab {
            state: Some(Arc::new(TabState {
                holds,
                limiter,
                key,
                byok,
                end_user: OnceLock::new(),
                reservation: Mutex::new(None),
                attempts: Mutex::new(Vec::new()),
                charge_accepted,
                accepted_failures: Mutex::new(None),
                started: Instant::now(),
                _open: open,
            })),
        }
    }

    /// Holds `worst` (the most the request can cost, `None` when that is too large to be
    /// money) for a request one of `models` serves; refused when the key's limit, its
    /// account's credits, or a budget of its team, account, end user or on those models has no
    /// room for it.
    pub async fn reserve<'m>(
        &self,
        worst: Option<Decimal>,
        models: impl Iterator<Item = &'m str> + Clone,
    ) -> Result<(), DomainError> {
        let Some(state) = &self.state else {
            return Ok(());
        };
        let amount = worst
            .and_then(to_nanos)
            .ok_or(DomainError::CostOutOfRange)?;
        let budgets = state.budgets(models);
        let reservation = state
            .holds
            .reserve(&state.key, amount, &budgets)
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

    /// The key the request spends from; `None` when accounting is off.
    pub fn key(&self) -> Option<&KeyRecord> {
        Some(self.state.as_ref()?.key.as_ref())
    }

    /// Names the request's end user (the first name given stays).
    pub fn set_end_user(&self, end_user: EndUser) {
        if let Some(state) = &self.state {
            let _ = state.end_user.set(end_user);
        }
    }

    /// The end user's id and the key's team, for records of the request.
    pub fn end_user_and_team(&self) -> (Option<&str>, Option<&str>) {
        let Some(state) = &self.state else {
            return (None, None);
        };
        (
            state.end_user.get().map(|user| user.id.as_str()),
            state.key.team_id.as_deref(),
        )
    }

    /// The key's id and its account's id; `None` when accounting is off.
    pub fn key_and_account(&self) -> Option<(&str, &str)> {
        let key = &self.state.as_ref()?.key;
        Some((&key.id, &key.account_id))
    }

    /// The key's id, its account's id and its team's id, if any; `None` when accounting is off.
    pub fn key_account_and_team(&self) -> Option<(&str, &str, Option<&str>)> {
        let key = &self.state.as_ref()?.key;
        Some((&key.id, &key.account_id, key.team_id.as_deref()))
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
        policy::admit_candidates(state.key.policy_levels(), candidates)
            .map_err(|refusal| DomainError::PolicyRefused(Box::new(refusal)))
    }

    /// The account's own provider keys (BYOK), if it has any.
    pub fn byok(&self) -> Option<&AccountKeys> {
        self.state.as_ref()?.byok.as_deref()
    }

    /// The account's own key for `provider`, if it has one.
    pub fn byok_for(&self, provider: &str) -> Option<Arc<AccountCredential>> {
        self.byok()?.get(provider).cloned()
    }

    /// What the account is charged for a call that would have cost `cost`: the BYOK fee when
    /// its own key served (`served`), else the cost.
    pub fn charged(&self, cost: Cost, served: Option<&ServedBy>) -> Cost {
        match (self.byok(), served) {
            (Some(keys), Some(served)) if served.byok => fee::charged(cost, keys.fee_percent),
            _ => cost,
        }
    }

    /// The routing policy the key chose, if any.
    pub fn routing_policy(&self) -> Option<&str> {
        self.state.as_ref()?.key.routing_policy.as_deref()
    }

    /// Whether a failed attempt the upstream accepted is charged: accounting is on, the
    /// request holds money, and `accounting.charge_accepted_failures` is not `none`.
    pub fn charges_accepted_failures(&self) -> bool {
        self.state.as_ref().is_some_and(|state| {
            state.charge_accepted == AcceptedFailureCharge::Prompt
                && lock(&state.reservation).is_some()
        })
    }

    /// Adds a failed attempt the upstream accepted at `model` on `provider`, its estimated
    /// prompt of `prompt_tokens` costing `cost`, to what the request is charged: with the
    /// served generation ([`Tab::settle`]), or on its own in a record `id` (the first such
    /// attempt's) when none serves ([`Tab::settle_accepted_failures`]), the client goes away
    /// included.
    pub fn charge_accepted_failure(
        &self,
        id: &str,
        model: &str,
        provider: &str,
        prompt_tokens: u64,
        cost: Cost,
    ) {
        let Some(state) = &self.state else {
            return;
        };
        let mut failures = lock(&state.accepted_failures);
        let (id, tokens, upstream, total) = failures.as_ref().map_or_else(
            || (id.to_owned(), 0, Decimal::ZERO, Decimal::ZERO),
            |f| (f.id.clone(), f.prompt_tokens, f.cost.upstream, f.cost.total),
        );
        *failures = Some(AcceptedFailures {
            id,
            model: model.to_owned(),
            provider: provider.to_owned(),
            prompt_tokens: tokens.saturating_add(prompt_tokens),
            cost: Cost {
                upstream: upstream.saturating_add(cost.upstream),
                total: total.saturating_add(cost.total),
            },
        });
    }

    /// No attempt served: charges the failed attempts the upstream accepted, when there were
    /// any, in a record of their own, and returns its id; otherwise releases the hold.
    pub async fn settle_accepted_failures(&self) -> Option<String> {
        let Some(state) = &self.state else {
            return None;
        };
        let Some(failures) = lock(&state.accepted_failures).take() else {
            self.release();
            return None;
        };
        let reservation = lock(&state.reservation).take()?;
        let record = state.failures_record(&reservation, &failures);
        let bucket = state.end_user.get().and_then(|user| user.bucket.as_deref());
        state
            .limiter
            .spend_tokens(&state.key, failures.prompt_tokens, bucket)
            .await;
        state.holds.settle(reservation, record).await;
        Some(failures.id)
    }

    /// Charges the served generation (at most its hold), with the failed attempts the upstream
    /// accepted before it, and releases the rest of the hold; durable within the settlement lag
    /// ([`super::settler`]).
    pub async fn settle(&self, charge: Charge<'_>) {
        let Some(state) = &self.state else {
            return;
        };
        let Some(reservation) = lock(&state.reservation).take() else {
            return;
        };
        // The record's tokens are the served generation's; its cost and the key's token count
        // include the failed attempts (listed with their charges in its attempts).
        let mut charge = charge;
        let mut failed_tokens = 0;
        if let Some(failures) = lock(&state.accepted_failures).take() {
            charge.cost = Cost {
                upstream: charge.cost.upstream.saturating_add(failures.cost.upstream),
                total: charge.cost.total.saturating_add(failures.cost.total),
            };
            failed_tokens = failures.prompt_tokens;
        }
        let record = state.record(&reservation, &charge);
        if let Some(note) = &record.charge_note {
            tracing::warn!(id = %record.id, key = %reservation.key_id, held = reservation.amount, excess = record.excess_cost, %note, "cost above the hold: charged the hold");
        }
        let tokens = charge
            .usage
            .prompt_tokens
            .saturating_add(charge.usage.completion_tokens)
            .saturating_add(failed_tokens);
        let bucket = state.end_user.get().and_then(|user| user.bucket.as_deref());
        state.limiter.spend_tokens(&state.key, tokens, bucket).await;
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
    /// The record of failed attempts the upstream accepted when none served: their estimated
    /// prompt tokens and cost, finish reason `error`.
    fn failures_record(
        &self,
        reservation: &Reservation,
        failures: &AcceptedFailures,
    ) -> GenerationRecord {
        let charge = Charge {
            id: &failures.id,
            model: &failures.model,
            provider: &failures.provider,
            usage: Usage {
                prompt_tokens: failures.prompt_tokens,
                ..Usage::default()
            },
            usage_estimated: true,
            cost: failures.cost,
            latency: Duration::ZERO,
            finish_reason: Some("error"),
            streamed: false,
            cancelled: false,
            cache_hit: false,
            byok: false,
        };
        self.record(reservation, &charge)
    }

    /// The budget rows a hold for a request one of `models` serves is taken against:
    /// the key's team's and account's, its end user's, and the model budgets covering one of
    /// `models`; ascending (the lock order).
    fn budgets<'m>(&self, models: impl Iterator<Item = &'m str> + Clone) -> Arc<[String]> {
        let scope = &self.key.scope;
        let user = self.end_user.get().and_then(|user| user.budget.as_ref());
        let covers = |budget: &&ModelBudget| models.clone().any(|model| budget.covers(model));
        if user.is_none() {
            if scope.model_budgets.is_empty() {
                return scope.budgets.clone();
            }
            if scope.model_budgets.iter().all(|budget| covers(&budget)) {
                return scope.budgets_with_models.clone();
            }
        }
        let covering = (scope.model_budgets.iter())
            .filter(covers)
            .map(|budget| &budget.id);
        let mut budgets: Vec<String> = scope.budgets.to_vec();
        budgets.extend(user.into_iter().chain(covering).cloned());
        if budgets.len() == scope.budgets.len() {
            return scope.budgets.clone();
        }
        budgets.sort();
        budgets.dedup();
        budgets.into()
    }

    fn record(&self, reservation: &Reservation, charge: &Charge<'_>) -> GenerationRecord {
        let tokens = |count: u64| i64::try_from(count).unwrap_or(i64::MAX);
        let millis = |elapsed: Duration| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
        let bounded = BoundedCost::of(&charge.cost, reservation.amount);
        GenerationRecord {
            id: charge.id.to_owned(),
            key_id: reservation.key_id.clone(),
            account_id: reservation.account_id.clone(),
            team_id: self.key.team_id.clone(),
            end_user: self.end_user.get().map(|user| user.id.clone()),
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
            cache_hit: charge.cache_hit,
            byok: charge.byok,
            latency_ms: millis(charge.latency),
            generation_ms: millis(self.started.elapsed()),
            finish_reason: charge.finish_reason.map(str::to_owned),
            streamed: charge.streamed,
            cancelled: charge.cancelled,
            attempts: attempts_json(&lock(&self.attempts)),
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
    /// A tab dropped unsettled releases its hold, but first charges the failed attempts the
    /// upstream accepted: a client that goes away during failover still pays for them.
    fn drop(&mut self) {
        let Some(reservation) = lock(&self.reservation).take() else {
            return;
        };
        let failures = lock(&self.accepted_failures).take();
        match (failures, tokio::runtime::Handle::try_current()) {
            (Some(failures), Ok(runtime)) => {
                let mut record = self.failures_record(&reservation, &failures);
                record.cancelled = true;
                let holds = self.holds.clone();
                // The drain waits for this settlement as it waited for the tab.
                let open = self._open.take();
                runtime.spawn(async move {
                    holds.settle(reservation, record).await;
                    drop(open);
                });
            }
            _ => self.holds.release(&reservation),
        }
    }
}

/// The failed attempts of a record as JSON text.
fn attempts_json(attempts: &[Value]) -> String {
    if attempts.is_empty() {
        return "[]".to_owned();
    }
    serde_json::to_string(attempts).unwrap_or_else(|_| "[]".to_owned())
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
        Refusal::ModelBudget(level) => DomainError::ModelBudgetReached { level, required },
    }
}

impl super::Accounting {
    /// Names the end user of the request `tab` accounts for: checked, registered within its
    /// account's cap, and within its rate limits. Nothing without accounting or an id.
    pub async fn identify(&self, tab: &Tab, user: Option<&str>) -> Result<(), DomainError> {
        let Some(user) = user else {
            return Ok(());
        };
        if user.len() > MAX_ID_BYTES {
            return Err(DomainError::EndUserIdTooLong { max: MAX_ID_BYTES });
        }
        let Some(key) = tab.key() else {
            return Ok(());
        };
        let rules = &key.scope.end_users;
        if !self.known_end_users.contains(&key.account_id, user) {
            let registration = self
                .store
                .register_end_user(&key.account_id, user, rules)
                .await
                .map_err(storage_error)?;
            if registration == Registration::CapReached {
                return Err(DomainError::EndUserCapReached {
                    max: rules.max_end_users,
                });
            }
            self.known_end_users.insert(&key.account_id, user);
        }
        let limited = rules.requests_per_minute.or(rules.tokens_per_minute);
        let bucket = limited.map(|_| format!("user:{}:{user}", key.account_id));
        if let Some(bucket) = &bucket
            && let Err(retry_after_secs) = self.limiter.admit_bucket(bucket, rules).await
        {
            return Err(DomainError::EndUserRateLimited { retry_after_secs });
        }
        tab.set_end_user(EndUser {
            id: user.to_owned(),
            budget: rules.limit.map(|_| end_user_budget(&key.account_id, user)),
            bucket,
        });
        Ok(())
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
