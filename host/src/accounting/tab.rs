//! The accounting of one request: the key it spends from, the worst case held before the first
//! upstream call, the failed attempts, and the settlement once the cost is known. A tab dropped
//! unsettled (the client went away before any output) releases its hold.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::money::{Nanos, now, to_nanos, usd_json};
use super::rate::RateLimiter;
use super::settler::Settler;
use super::storage_error;
use super::store::{GenerationRecord, KeyRecord, Refusal, Reservation, Store};
use crate::api::error::ApiError;
use crate::catalog::{Endpoint, Model};
use crate::gateway::ChatCall;
use crate::gateway::generation::Generation;
use crate::plugins::types::Usage;
use crate::pricing::{Cost, image_count, worst_case_cost};

/// Output tokens assumed when neither the request, the endpoint nor the model bounds them.
const UNBOUNDED_OUTPUT_TOKENS: u64 = 131_072;

/// How often a settlement is tried before it is left to the reservation sweep.
const SETTLE_TRIES: u32 = 3;

/// One request's accounting; the default tab (accounting disabled) does nothing.
#[derive(Debug, Clone, Default)]
pub struct Tab {
    state: Option<Arc<TabState>>,
}

#[derive(Debug)]
struct TabState {
    store: Store,
    settler: Settler,
    limiter: Arc<RateLimiter>,
    key: KeyRecord,
    reservation: Mutex<Option<Reservation>>,
    attempts: Mutex<Vec<Value>>,
    started: Instant,
    /// Keeps the gateway's drain waiting until this tab is settled or released.
    open: Option<mpsc::Sender<()>>,
}

/// What a served generation used and cost.
#[derive(Debug, Clone)]
pub struct Charge<'a> {
    /// The generation.
    pub generation: &'a Generation,
    /// Native usage (estimated for the part a cancelled stream did not report).
    pub usage: Usage,
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
        store: Store,
        settler: Settler,
        limiter: Arc<RateLimiter>,
        key: KeyRecord,
        open: Option<mpsc::Sender<()>>,
    ) -> Tab {
        Tab {
            state: Some(Arc::new(TabState {
                store,
                settler,
                limiter,
                key,
                reservation: Mutex::new(None),
                attempts: Mutex::new(Vec::new()),
                started: Instant::now(),
                open,
            })),
        }
    }

    /// Holds the most `call` can cost on any of `candidates`; 402 when the key's limit or its
    /// account's credits have no room for it.
    pub async fn reserve<'a>(
        &self,
        call: &ChatCall,
        candidates: impl Iterator<Item = (&'a Model, &'a Endpoint)>,
        fee_percent: Decimal,
    ) -> Result<(), ApiError> {
        // A token is at least one byte of the body.
        let prompt_tokens = call.body.len() as u64;
        let images = image_count(&call.request);
        let output_limit = call.request.output_token_limit();
        self.reserve_tokens(prompt_tokens, output_limit, images, candidates, fee_percent)
            .await
    }

    /// Holds the most a request of `prompt_tokens`, at most `output_limit` output tokens (else
    /// the endpoint's or model's limit) and `images` can cost on any of `candidates`.
    pub async fn reserve_tokens<'a>(
        &self,
        prompt_tokens: u64,
        output_limit: Option<u64>,
        images: u64,
        candidates: impl Iterator<Item = (&'a Model, &'a Endpoint)>,
        fee_percent: Decimal,
    ) -> Result<(), ApiError> {
        let Some(state) = &self.state else {
            return Ok(());
        };
        let worst = candidates
            .map(|(model, endpoint)| {
                let output = [
                    output_limit,
                    endpoint.max_output_tokens,
                    model.context_length,
                ]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(UNBOUNDED_OUTPUT_TOKENS);
                worst_case_cost(prompt_tokens, output, images, &endpoint.prices, fee_percent)
            })
            .max()
            .unwrap_or(Decimal::ZERO);
        let amount = to_nanos(worst).ok_or_else(|| {
            ApiError::invalid_request("the request's worst-case cost is out of range")
        })?;
        let reservation = state
            .store
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

    /// The routing policy the key chose, if any.
    pub fn routing_policy(&self) -> Option<&str> {
        self.state.as_ref()?.key.routing_policy.as_deref()
    }

    /// Charges the served generation and releases the rest of the hold; durable when this
    /// returns. A settlement the database refuses keeps its hold (it can never overspend) and
    /// is logged.
    pub async fn settle(&self, charge: Charge<'_>) {
        let Some(state) = &self.state else {
            return;
        };
        let Some(reservation) = lock(&state.reservation).take() else {
            return;
        };
        let record = state.record(&reservation, &charge);
        let tokens = charge.usage.prompt_tokens + charge.usage.completion_tokens;
        state.limiter.spend_tokens(&state.key, tokens).await;
        for attempt in 1..=SETTLE_TRIES {
            let settled = state
                .settler
                .settle(reservation.clone(), record.clone())
                .await;
            match settled {
                Ok(()) => return,
                Err(error) if attempt < SETTLE_TRIES => {
                    tracing::warn!(id = %record.id, %error, attempt, "settlement failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(error) => {
                    tracing::error!(id = %record.id, reservation = %reservation.id, cost = record.cost, %error, "settlement failed; the hold stays until the reservation sweep");
                }
            }
        }
    }

    /// Releases the hold without charging (no endpoint served).
    pub async fn release(&self) {
        let Some(state) = &self.state else {
            return;
        };
        let Some(reservation) = lock(&state.reservation).take() else {
            return;
        };
        release(&state.store, &reservation).await;
    }
}

impl TabState {
    fn record(&self, reservation: &Reservation, charge: &Charge<'_>) -> GenerationRecord {
        let tokens = |count: u64| i64::try_from(count).unwrap_or(i64::MAX);
        let nanos = |usd: Decimal| -> Nanos { to_nanos(usd).unwrap_or(Nanos::MAX) };
        let millis = |elapsed: Duration| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
        GenerationRecord {
            id: charge.generation.id.clone(),
            key_id: reservation.key_id.clone(),
            account_id: reservation.account_id.clone(),
            model: charge.generation.model.clone(),
            provider: charge.generation.provider.clone(),
            prompt_tokens: tokens(charge.usage.prompt_tokens),
            completion_tokens: tokens(charge.usage.completion_tokens),
            reasoning_tokens: tokens(charge.usage.reasoning_tokens),
            cached_tokens: tokens(charge.usage.cached_tokens),
            cache_write_tokens: tokens(charge.usage.cache_write_tokens),
            cost: nanos(charge.cost.total),
            upstream_cost: nanos(charge.cost.upstream),
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

impl Drop for TabState {
    fn drop(&mut self) {
        let Some(reservation) = lock(&self.reservation).take() else {
            return;
        };
        let store = self.store.clone();
        let open = self.open.take();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    release(&store, &reservation).await;
                    drop(open);
                });
            }
            Err(_) => {
                tracing::warn!(reservation = %reservation.id, "no runtime to release a hold; the reservation sweep will")
            }
        }
    }
}

async fn release(store: &Store, reservation: &Reservation) {
    if let Err(error) = store.release(reservation).await {
        tracing::error!(reservation = %reservation.id, %error, "cannot release a hold; the reservation sweep will");
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn refused(refusal: Refusal, amount: Nanos) -> ApiError {
    let (code, message) = match refusal {
        Refusal::KeyLimit => (
            "key_limit_exceeded",
            "This request requires more credits than the key's limit has left, or fewer max_tokens.",
        ),
        Refusal::Credits => (
            "insufficient_credits",
            "This request requires more credits, or fewer max_tokens. Add credits to the key's account.",
        ),
        Refusal::KeyUnusable => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "the API key is disabled or expired",
            )
            .with_code("invalid_api_key");
        }
    };
    ApiError::new(StatusCode::PAYMENT_REQUIRED, "insufficient_quota", message)
        .with_code(code)
        .with_metadata(json!({ "required": usd_json(amount) }))
}
