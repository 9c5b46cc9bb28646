//! The storage interface of accounting: accounts, keys, reservations and generation records in
//! SQLite (embedded, the default) or PostgreSQL, through one SQL dialect both accept.
//!
//! Every change of money is one transaction of conditional updates, so that concurrent
//! requests — in one process or in several sharing PostgreSQL — can never spend past a key's
//! limit or an account's credits: a reservation only lands when it fits, and settling it writes
//! the generation record, the usage and the release in the same commit.

use std::borrow::{Borrow, Cow};
use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Connection, Row};

use super::batch::{self, BudgetCharge, Charged};
use super::budgets::{BUDGET_COLUMNS, budget_level, budget_record, parse_id, range_end};
use super::model_budgets::{self, ModelBudgets, level_prefix};
use super::policy::Policy;
use super::schema::MIGRATIONS;
use super::scope::{Scope, stored_policy};
use switchyard_domain::config::AccountingConfig;
use switchyard_domain::money::{LimitReset, Nanos, now};
use switchyard_domain::policy_refusal::Level;
use switchyard_domain::store_error::StoreError;

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The key's limit (in its current window) has no room left for it.
    KeyLimit,
    /// The account's credits have no room left for it.
    Credits,
    /// The key is disabled, expired or gone.
    KeyUnusable,
    /// The budget of the key's team or account, or of the request's end user (in its current
    /// window) has no room left.
    Budget(Level),
    /// A budget the key or its team sets on the request's models has no room left.
    ModelBudget(Level),
}

/// Why a hold is refused when budget row `id` has no room for it.
pub fn budget_refusal(id: &str) -> Refusal {
    if id.starts_with("model:") {
        Refusal::ModelBudget(budget_level(id))
    } else {
        Refusal::Budget(budget_level(id))
    }
}

/// One settlement to log.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Settlement {
    /// A hold kept in the database: released and charged with the record in one commit.
    Held(Reservation, GenerationRecord),
    /// A hold kept in memory (already released): the record and its charge in the key's
    /// limit window starting at unix second `.1` (0 without a reset).
    Logged(GenerationRecord, i64),
}

impl Settlement {
    /// The generation record it stores.
    pub fn record(&self) -> &GenerationRecord {
        match self {
            Settlement::Held(_, record) | Settlement::Logged(record, _) => record,
        }
    }
}

/// An account: credits bought and spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Account id.
    pub id: String,
    /// Credits bought, nano-USD.
    pub credits: Nanos,
    /// Credits spent (settled), nano-USD.
    pub usage: Nanos,
    /// Credits held by requests in flight, nano-USD.
    pub reserved: Nanos,
}

/// An API key as stored (its secret is never stored, only its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    /// Key id (not secret).
    pub id: String,
    /// The account it spends from.
    pub account_id: String,
    /// A name for people.
    pub label: String,
    /// Most it may spend per window (or in all, without a reset), nano-USD.
    pub limit: Option<Nanos>,
    /// When the limit starts over.
    pub limit_reset: Option<LimitReset>,
    /// Unix seconds after which it stops working.
    pub expires_at: Option<i64>,
    /// Refused while set.
    pub disabled: bool,
    /// Rate limit: requests per minute.
    pub requests_per_minute: Option<i64>,
    /// Rate limit: prompt and completion tokens per minute.
    pub tokens_per_minute: Option<i64>,
    /// The routing policy plugin for this key's requests, instead of each model's.
    pub routing_policy: Option<String>,
    /// The team it belongs to, if any.
    pub team_id: Option<String>,
    /// What the key itself allows.
    pub policy: Policy,
    /// What its team and account impose (read with the key when it authorises a request;
    /// empty elsewhere).
    pub scope: Arc<Scope>,
    /// Settled spending in all, nano-USD.
    pub usage: Nanos,
    /// Settled spending in the window that began at `window_start`, nano-USD.
    pub window_usage: Nanos,
    /// Unix seconds at which the current limit window began (0 without a reset).
    pub window_start: i64,
    /// Held by requests in flight, nano-USD.
    pub reserved: Nanos,
    /// Unix seconds.
    pub created_at: i64,
}

impl KeyRecord {
    /// Whether requests may use it at `now` (unix seconds).
    pub fn usable(&self, now: i64) -> bool {
        !self.disabled && self.expires_at.is_none_or(|expiry| now < expiry)
    }

    /// The levels of its organisation whose policies a request passes, from the key out: each
    /// level, its id and its policy.
    pub fn policy_levels(&self) -> Vec<(Level, &str, &Policy)> {
        let scope = &self.scope;
        let mut levels = vec![(Level::Key, self.id.as_str(), &self.policy)];
        if let Some(team) = &scope.team {
            levels.push((Level::Team, team.id.as_str(), &team.policy));
        }
        levels.push((
            Level::Account,
            self.account_id.as_str(),
            &scope.account.policy,
        ));
        levels
    }
}

/// A new key's settings.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Account id (created when missing).
    pub account_id: String,
    /// A name for people.
    pub label: String,
    /// Spending limit, nano-USD.
    pub limit: Option<Nanos>,
    /// When the limit starts over.
    pub limit_reset: Option<LimitReset>,
    /// Unix seconds after which it stops working.
    pub expires_at: Option<i64>,
    /// Rate limit: requests per minute.
    pub requests_per_minute: Option<i64>,
    /// Rate limit: tokens per minute.
    pub tokens_per_minute: Option<i64>,
    /// Routing policy plugin for the key's requests.
    pub routing_policy: Option<String>,
    /// The team it belongs to (of the same account).
    pub team_id: Option<String>,
    /// What the key allows.
    pub policy: Policy,
    /// Its budgets on models.
    pub model_budgets: Option<model_budgets::Settings>,
}

/// Changes to a key; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct KeyUpdate {
    /// New label.
    pub label: Option<String>,
    /// New limit (`Some(None)` removes it).
    pub limit: Option<Option<Nanos>>,
    /// New reset (`Some(None)` removes it).
    pub limit_reset: Option<Option<LimitReset>>,
    /// New expiry (`Some(None)` removes it).
    pub expires_at: Option<Option<i64>>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// New requests per minute (`Some(None)` removes the limit).
    pub requests_per_minute: Option<Option<i64>>,
    /// New tokens per minute (`Some(None)` removes the limit).
    pub tokens_per_minute: Option<Option<i64>>,
    /// New routing policy (`Some(None)`: each model's own again).
    pub routing_policy: Option<Option<String>>,
    /// New team (`Some(None)`: none).
    pub team_id: Option<Option<String>>,
    /// New rules (replacing the key's).
    pub policy: Option<Policy>,
    /// New budgets on models (replacing the key's).
    pub model_budgets: Option<model_budgets::Settings>,
}

/// Money held for one request until it settles.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reservation {
    /// Reservation id.
    pub id: String,
    /// The key.
    pub key_id: String,
    /// The key's account.
    pub account_id: String,
    /// Held, nano-USD.
    pub amount: Nanos,
    /// The budget rows it holds against too (team and account budgets), ascending.
    pub budgets: Arc<[String]>,
}

/// How much room a hold asks of a key and its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseGrant {
    /// The least that must fit, nano-USD: without room for it, the hold is refused.
    pub need: Nanos,
    /// The most wanted, nano-USD (room for the holds to come).
    pub wanted: Nanos,
}

/// A lease takes at most this share of the room a key or an account has left (1/8), so that
/// other gateways sharing them still find room when it runs short.
const LEASE_SHARE_OF_ROOM: Nanos = 8;

impl LeaseGrant {
    /// The room to hold when the account has `account_room` left and the key `key_room`
    /// (`None`: no limit): `need`, plus up to `wanted` when an eighth of each room allows; or
    /// why not even `need` fits.
    pub fn size(self, account_room: Nanos, key_room: Option<Nanos>) -> Result<Nanos, Refusal> {
        self.size_within(account_room, key_room, &[])
    }

    /// [`LeaseGrant::size`] within the room of budgets too: `(room, refusal when short)`.
    pub fn size_within(
        self,
        account_room: Nanos,
        key_room: Option<Nanos>,
        budget_rooms: &[(Nanos, Refusal)],
    ) -> Result<Nanos, Refusal> {
        if account_room < self.need {
            return Err(Refusal::Credits);
        }
        if let Some((_, refusal)) = budget_rooms.iter().find(|(room, _)| *room < self.need) {
            return Err(*refusal);
        }
        if key_room.is_some_and(|room| room < self.need) {
            return Err(Refusal::KeyLimit);
        }
        let share = |room: Nanos| room / LEASE_SHARE_OF_ROOM;
        let spare = budget_rooms
            .iter()
            .map(|(room, _)| share(*room))
            .fold(self.wanted.min(share(account_room)), Nanos::min)
            .min(key_room.map_or(Nanos::MAX, share));
        Ok(self.need.max(spare))
    }
}

/// One served generation: what the ledger charges and what `GET /api/v1/generation` shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GenerationRecord {
    /// Generation id.
    pub id: String,
    /// The key charged.
    pub key_id: String,
    /// The account charged.
    pub account_id: String,
    /// The key's team, if any.
    pub team_id: Option<String>,
    /// The end user the request named, if any.
    #[serde(default)]
    pub end_user: Option<String>,
    /// The budgets charged too, with the window each charge falls in (not stored: the
    /// budgets' own rows are charged; a settlement spooled before budgets existed has none).
    #[serde(default)]
    pub budgets: Vec<BudgetCharge>,
    /// Model used.
    pub model: String,
    /// Provider used.
    pub provider: String,
    /// Native prompt tokens.
    pub prompt_tokens: i64,
    /// Native completion tokens.
    pub completion_tokens: i64,
    /// Native reasoning tokens.
    pub reasoning_tokens: i64,
    /// Native cached prompt tokens.
    pub cached_tokens: i64,
    /// Native prompt tokens written to the cache.
    pub cache_write_tokens: i64,
    /// Charged, fee included, nano-USD.
    pub cost: Nanos,
    /// The upstream's part, nano-USD.
    pub upstream_cost: Nanos,
    /// From the request to the first output, milliseconds.
    pub latency_ms: i64,
    /// From the request to the end of the output, milliseconds.
    pub generation_ms: i64,
    /// Normalised finish reason, when one arrived.
    pub finish_reason: Option<String>,
    /// Streamed.
    pub streamed: bool,
    /// The client went away before the end.
    pub cancelled: bool,
    /// Failed attempts before the one that served, as a JSON array.
    pub attempts: String,
    /// The provider reported no usage: the tokens (and the cost) are estimates.
    pub usage_estimated: bool,
    /// What the cost exceeded the hold by, nano-USD (not charged; `Nanos::MAX`: out of range).
    pub excess_cost: Nanos,
    /// Why `cost` is not the cost of the usage, when it is not (`cost_above_hold`,
    /// `cost_out_of_range`).
    pub charge_note: Option<String>,
    /// Answered from the response cache: no upstream call.
    pub cache_hit: bool,
    /// Served on the account's own provider key: `cost` is the BYOK fee.
    #[serde(default)]
    pub byok: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// Connections opened at start (at most `max_connections`).
const WARM_CONNECTIONS: u32 = 4;

/// What a transaction must survive before its commit returns.
#[derive(Debug, Clone, Copy)]
enum Durability {
    /// A crash of the gateway process. For holds: one lost to a crash of the machine is the
    /// same as one released (the hold and its counters are lost together).
    Relaxed,
    /// A crash of the machine: charges, credits and keys.
    Full,
}

/// The accounting database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    embedded: bool,
}

impl Store {
    /// Connects to the configured database (PostgreSQL when a URL is set, else the SQLite file,
    /// created when missing) and applies pending migrations.
    pub async fn open(config: &AccountingConfig) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, embedded) = match &config.postgres_url {
            Some(url) => (url.clone(), false),
            None => (
                format!("sqlite://{}?mode=rwc", config.sqlite_path.display()),
                true,
            ),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        // SQLite takes one writer at a time: one connection queues writers in the process
        // instead of making them retry on a busy file.
        // PostgreSQL connections are opened before they are needed (opening one under load can
        // take seconds) and not pinged on every acquisition (a round trip per query).
        let max_connections = if embedded { 1 } else { config.max_connections };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(max_connections.min(WARM_CONNECTIONS))
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let store = Store { pool, embedded };
        if embedded {
            // Readers never block the writer, and a commit is one append to the log.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&store.pool)
                .await?;
        }
        store.migrate().await?;
        Ok(store)
    }

    /// A connection whose next transaction commits with `durability`.
    async fn connection(&self, durability: Durability) -> Result<PoolConnection<Any>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        if self.embedded {
            // SQLite takes the level per connection, outside transactions; in WAL mode NORMAL
            // survives a crash of the process, FULL also one of the machine.
            let pragma = match durability {
                Durability::Relaxed => "PRAGMA synchronous = NORMAL",
                Durability::Full => "PRAGMA synchronous = FULL",
            };
            sqlx::query(pragma).execute(&mut *connection).await?;
        }
        Ok(connection)
    }

    /// PostgreSQL takes the level per transaction: a relaxed commit returns before the log
    /// reaches the disk.
    async fn relax_commit(&self, tx: &mut sqlx::Transaction<'_, Any>) -> Result<(), StoreError> {
        if !self.embedded {
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// The connection pool, for reads.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection whose next transaction commits durably.
    pub(crate) async fn full_connection(&self) -> Result<PoolConnection<Any>, StoreError> {
        self.connection(Durability::Full).await
    }

    /// Whether this is the embedded SQLite database (owned by one gateway process).
    pub fn is_embedded(&self) -> bool {
        self.embedded
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
            .execute(&self.pool)
            .await?;
        for (version, statements) in MIGRATIONS {
            let mut connection = self.connection(Durability::Full).await?;
            let mut tx = connection.begin().await?;
            let applied = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(*version)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if applied {
                tx.rollback().await?;
                continue;
            }
            for statement in *statements {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING",
            )
            .bind(*version)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version, "accounting database migrated");
        }
        Ok(())
    }

    /// Releases reservations made before `before` (unix seconds): those of a gateway that
    /// stopped without settling them. Returns how many were released.
    pub async fn release_stale(&self, before: i64) -> Result<u64, StoreError> {
        let stale = sqlx::query(
            "SELECT id, key_id, account_id, amount, budgets FROM reservations WHERE created_at < $1",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        let mut released = 0;
        for row in stale {
            let reservation = Reservation {
                id: row.try_get("id")?,
                key_id: row.try_get("key_id")?,
                account_id: row.try_get("account_id")?,
                amount: row.try_get("amount")?,
                budgets: budget_list(&row.try_get::<String, _>("budgets")?),
            };
            if self.release(&reservation).await? {
                released += 1;
            }
        }
        Ok(released)
    }

    /// Adds `amount` credits to `account_id`, creating the account when missing.
    pub async fn add_credits(
        &self,
        account_id: &str,
        amount: Nanos,
    ) -> Result<Account, StoreError> {
        let mut connection = self.connection(Durability::Full).await?;
        let mut tx = connection.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(account_id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE accounts SET credits = credits + $2 WHERE id = $1")
            .bind(account_id)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        drop(connection); // SQLite has one connection: give it back first
        self.account(account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))
    }

    /// The account `id`.
    pub async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query("SELECT id, credits, usage, reserved FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Account {
                id: row.try_get("id")?,
                credits: row.try_get("credits")?,
                usage: row.try_get("usage")?,
                reserved: row.try_get("reserved")?,
            })
        })
        .transpose()
    }

    /// Stores a new key under `id` with the SHA-256 `hash` of its secret.
    pub async fn create_key(
        &self,
        id: &str,
        hash: &str,
        key: &NewKey,
    ) -> Result<KeyRecord, StoreError> {
        let created = now();
        let mut connection = self.connection(Durability::Full).await?;
        let mut tx = connection.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&key.account_id)
        .bind(created)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO api_keys (id, hash, account_id, label, usd_limit, limit_reset, expires_at,
             window_start, created_at, requests_per_minute, tokens_per_minute, routing_policy,
             team_id, policy)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(id)
        .bind(hash)
        .bind(&key.account_id)
        .bind(&key.label)
        .bind(key.limit)
        .bind(key.limit_reset.map(LimitReset::as_str))
        .bind(key.expires_at)
        .bind(
            key.limit_reset
                .map_or(0, |reset| reset.window_start(created)),
        )
        .bind(created)
        .bind(key.requests_per_minute)
        .bind(key.tokens_per_minute)
        .bind(&key.routing_policy)
        .bind(&key.team_id)
        .bind(key.policy.stored())
        .execute(&mut *tx)
        .await?;
        if let Some(models) = &key.model_budgets {
            model_budgets::replace(&mut tx, Level::Key, id, models).await?;
        }
        tx.commit().await?;
        drop(connection); // SQLite has one connection: give it back first
        self.key(id).await?.ok_or(StoreError::NotFound("key"))
    }

    /// Every key, oldest first.
    pub async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query(&format!("{KEY_COLUMNS} ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(key_record).collect()
    }

    /// The key `id`.
    pub async fn key(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.key_where("id", id).await
    }

    /// The key whose secret hashes to `hash`.
    pub async fn key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.key_where("hash", hash).await
    }

    /// The key whose unique `column` holds `value`.
    async fn key_where(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let row = sqlx::query(&format!("{KEY_COLUMNS} WHERE {column} = $1"))
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(key_record).transpose()
    }

    /// Applies `update` to key `id`. A new reset starts its window now, counting what the key
    /// spent since the window's start. Spending is never read and written back: settlements
    /// committed meanwhile are kept.
    pub async fn update_key(
        &self,
        id: &str,
        update: &KeyUpdate,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let mut connection = self.connection(Durability::Full).await?;
        let mut tx = connection.begin().await?;
        let row = sqlx::query(&format!("{KEY_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(mut key) = row.as_ref().map(key_record).transpose()? else {
            tx.rollback().await?;
            return Ok(None);
        };
        if let Some(label) = &update.label {
            key.label.clone_from(label);
        }
        if let Some(limit) = update.limit {
            key.limit = limit;
        }
        if let Some(expires_at) = update.expires_at {
            key.expires_at = expires_at;
        }
        if let Some(disabled) = update.disabled {
            key.disabled = disabled;
        }
        if let Some(requests) = update.requests_per_minute {
            key.requests_per_minute = requests;
        }
        if let Some(tokens) = update.tokens_per_minute {
            key.tokens_per_minute = tokens;
        }
        if let Some(policy) = &update.routing_policy {
            key.routing_policy.clone_from(policy);
        }
        if let Some(team) = &update.team_id {
            key.team_id.clone_from(team);
        }
        if let Some(policy) = &update.policy {
            key.policy.clone_from(policy);
        }
        sqlx::query(
            "UPDATE api_keys SET label = $2, usd_limit = $3, expires_at = $4, disabled = $5,
             requests_per_minute = $6, tokens_per_minute = $7, routing_policy = $8, team_id = $9,
             policy = $10 WHERE id = $1",
        )
        .bind(id)
        .bind(&key.label)
        .bind(key.limit)
        .bind(key.expires_at)
        .bind(i64::from(key.disabled))
        .bind(key.requests_per_minute)
        .bind(key.tokens_per_minute)
        .bind(&key.routing_policy)
        .bind(&key.team_id)
        .bind(key.policy.stored())
        .execute(&mut *tx)
        .await?;
        if let Some(reset) = update.limit_reset
            && reset != key.limit_reset
        {
            sqlx::query(&format!(
                "UPDATE api_keys SET limit_reset = $3, window_start = $2,
                 window_usage = ({SPENT_SINCE}) WHERE id = $1"
            ))
            .bind(id)
            .bind(reset.map_or(0, |reset| reset.window_start(now())))
            .bind(reset.map(LimitReset::as_str))
            .execute(&mut *tx)
            .await?;
        }
        if let Some(models) = &update.model_budgets {
            model_budgets::replace(&mut tx, Level::Key, id, models).await?;
        }
        tx.commit().await?;
        drop(connection); // SQLite has one connection: give it back first
        self.key(id).await
    }

    /// Deletes key `id` and its budgets on models; its spending stays on its account. Returns
    /// whether it existed.
    pub async fn delete_key(&self, id: &str) -> Result<bool, StoreError> {
        let mut connection = self.connection(Durability::Full).await?;
        let mut tx = connection.begin().await?;
        let deleted = sqlx::query("DELETE FROM api_keys WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        model_budgets::replace(&mut tx, Level::Key, id, &model_budgets::Settings::new()).await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Holds `amount` against `key`'s limit (in its current window) and its account's credits,
    /// both at once or neither, in a reservation of its own.
    pub async fn reserve(
        &self,
        key: &KeyRecord,
        amount: Nanos,
    ) -> Result<Result<Reservation, Refusal>, StoreError> {
        let id = super::keys::random_id("res");
        let grant = LeaseGrant {
            need: amount,
            wanted: amount,
        };
        let budgets = key.scope.budgets.clone();
        Ok(self
            .lease(key, &id, &budgets, grant)
            .await?
            .map(|_| Reservation {
                id,
                key_id: key.id.clone(),
                account_id: key.account_id.clone(),
                amount,
                budgets,
            }))
    }

    /// Adds room to reservation `id` of `key` (creating it when missing): at least
    /// `grant.need`, at most `grant.wanted` (see [`LeaseGrant::size`]), held against the key's
    /// limit in its current window and its account's credits, both at once or neither. Returns
    /// the room added. Committed without waiting for the disk: a hold lost to a crash of the
    /// machine is released with its counters.
    pub async fn lease(
        &self,
        key: &KeyRecord,
        id: &str,
        budgets: &[String],
        grant: LeaseGrant,
    ) -> Result<Result<Nanos, Refusal>, StoreError> {
        let now = now();
        let window_start = key.limit_reset.map_or(0, |reset| reset.window_start(now));
        // SQLite has one connection and locks the whole file; PostgreSQL locks rows, in one
        // order everywhere (the reservation, its account, its budgets, its key), so that holds, settlements
        // and releases of several gateways never deadlock.
        let lock = if self.embedded { "" } else { " FOR UPDATE" };
        let mut connection = self.connection(Durability::Relaxed).await?;
        let mut tx = connection.begin().await?;
        self.relax_commit(&mut tx).await?;
        sqlx::query(&format!("SELECT id FROM reservations WHERE id = $1{lock}"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let account = sqlx::query(&format!(
            "SELECT credits - usage - reserved AS room FROM accounts WHERE id = $1{lock}"
        ))
        .bind(&key.account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let mut budget_rooms = Vec::with_capacity(budgets.len());
        let mut budget_windows = Vec::with_capacity(budgets.len());
        for budget in budgets {
            let row = sqlx::query(&format!("{BUDGET_COLUMNS} WHERE id = $1{lock}"))
                .bind(budget)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row.as_ref().map(budget_record).transpose()? else {
                budget_windows.push(0);
                continue;
            };
            budget_windows.push(row.limit_reset.map_or(0, |reset| reset.window_start(now)));
            if let Some(room) = row.room(now) {
                budget_rooms.push((room, budget_refusal(budget)));
            }
        }
        let key_row = sqlx::query(&format!(
            "SELECT usd_limit, window_usage, window_start, reserved, disabled, expires_at
             FROM api_keys WHERE id = $1 AND account_id = $2{lock}"
        ))
        .bind(&key.id)
        .bind(&key.account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(account) = account else {
            tx.rollback().await?;
            return Ok(Err(Refusal::Credits));
        };
        let Some(key_row) = key_row else {
            tx.rollback().await?;
            return Ok(Err(Refusal::KeyUnusable));
        };
        let disabled = key_row.try_get::<i64, _>("disabled")? != 0;
        let expires_at: Option<i64> = key_row.try_get("expires_at")?;
        if disabled || expires_at.is_some_and(|expiry| now >= expiry) {
            tx.rollback().await?;
            return Ok(Err(Refusal::KeyUnusable));
        }
        let stored_window_start: i64 = key_row.try_get("window_start")?;
        let window_usage = if stored_window_start < window_start {
            0
        } else {
            key_row.try_get("window_usage")?
        };
        let key_reserved: Nanos = key_row.try_get("reserved")?;
        let key_room = key_row
            .try_get::<Option<Nanos>, _>("usd_limit")?
            .map(|limit| {
                limit
                    .saturating_sub(window_usage)
                    .saturating_sub(key_reserved)
            });
        let amount = match grant.size_within(account.try_get("room")?, key_room, &budget_rooms) {
            Ok(amount) => amount,
            Err(refusal) => {
                tx.rollback().await?;
                return Ok(Err(refusal));
            }
        };
        if amount == 0 {
            // Confirmed, not grown: a lease's row is refreshed, and no empty one is made.
            sqlx::query("UPDATE reservations SET created_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Ok(0));
        }
        sqlx::query(
            "UPDATE api_keys SET reserved = reserved + $2,
             window_usage = CASE WHEN window_start < $3 THEN 0 ELSE window_usage END,
             window_start = CASE WHEN window_start < $3 THEN $3 ELSE window_start END
             WHERE id = $1",
        )
        .bind(&key.id)
        .bind(amount)
        .bind(window_start)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE accounts SET reserved = reserved + $2 WHERE id = $1")
            .bind(&key.account_id)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
        for (budget, window_start) in budgets.iter().zip(budget_windows) {
            sqlx::query(
                "UPDATE budgets SET reserved = reserved + $2,
                 window_usage = CASE WHEN window_start < $3 THEN 0 ELSE window_usage END,
                 window_start = CASE WHEN window_start < $3 THEN $3 ELSE window_start END
                 WHERE id = $1",
            )
            .bind(budget)
            .bind(amount)
            .bind(window_start)
            .execute(&mut *tx)
            .await?;
        }
        // A lease refreshed here is not taken for one a stopped gateway left.
        sqlx::query(
            "INSERT INTO reservations (id, key_id, account_id, amount, created_at, budgets)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET amount = reservations.amount + excluded.amount,
                created_at = excluded.created_at",
        )
        .bind(id)
        .bind(&key.id)
        .bind(&key.account_id)
        .bind(amount)
        .bind(now)
        .bind(budgets.join(","))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(amount))
    }

    /// Settles `reservation`: charges `record.cost`, releases the hold and stores the record, in
    /// one commit. A reservation already released (by a recovery sweep) is still charged.
    pub async fn settle(
        &self,
        reservation: &Reservation,
        record: &GenerationRecord,
    ) -> Result<(), StoreError> {
        self.log_settlements(&[Settlement::Held(reservation.clone(), record.clone())])
            .await
    }

    /// Commits several settlements at once (one write to disk for all): all or none. Each
    /// stores its generation record and charges its key (in the record's limit window) and
    /// account; one [`Settlement::Held`] also takes its hold off its reservation (deleted once
    /// empty: a lease holds for several requests). A settlement whose record is
    /// already stored was committed by an earlier try (one whose outcome the connection lost)
    /// and is not charged again, so a retry is always safe: alone it changes nothing; in a
    /// batch, the batch is refused with [`StoreError::PartlyStored`], to be settled one by one.
    ///
    /// On PostgreSQL the transaction commits without waiting for the disk, so that the account
    /// and key rows, which every lease locks, are not held for the length of an `fsync`; a
    /// second, durable commit then waits until the disk has everything before it. The
    /// settlements are durable when this returns, as on SQLite.
    pub async fn log_settlements<S: Borrow<Settlement> + Sync>(
        &self,
        settlements: &[S],
    ) -> Result<(), StoreError> {
        let mut connection = self.connection(Durability::Full).await?;
        let mut tx = connection.begin().await?;
        self.relax_commit(&mut tx).await?;
        // The records go first: they lock no row a hold needs.
        let mut inserted = 0;
        let mut rest = settlements;
        while !rest.is_empty() {
            let (records, after) = rest.split_at(rows_per_insert(rest.len()));
            let records = records
                .iter()
                .map(|settlement| settlement.borrow().record());
            inserted += insert_records(&mut tx, self.embedded, records).await?;
            rest = after;
        }
        if inserted < settlements.len() {
            // Stored already by an earlier try: one settlement is done; of several, which ones
            // are done is told by settling them one by one.
            tx.rollback().await?;
            return match settlements {
                [_] => Ok(()),
                _ => Err(StoreError::PartlyStored),
            };
        }
        // A lease serves many settlements of a batch: the holds of each reservation are taken
        // off its row together, in one order everywhere (ascending ids). A row without that
        // much left was swept meanwhile, which released its holds.
        let mut takes: BTreeMap<&str, Nanos> = BTreeMap::new();
        for settlement in settlements {
            if let Settlement::Held(reservation, _) = settlement.borrow() {
                let take = takes.entry(reservation.id.as_str()).or_default();
                *take = take.saturating_add(reservation.amount);
            }
        }
        let mut taken = HashSet::with_capacity(takes.len());
        for (id, amount) in takes {
            let held = sqlx::query(TAKE_FROM_RESERVATION)
                .bind(id)
                .bind(amount)
                .execute(&mut *tx)
                .await?;
            if held.rows_affected() > 0 {
                taken.insert(id);
            }
        }
        let charges = settlements.iter().map(|settlement| {
            let (record, released, window_start) = match settlement.borrow() {
                Settlement::Held(reservation, record) => {
                    let released = if taken.contains(reservation.id.as_str()) {
                        reservation.amount
                    } else {
                        0
                    };
                    (record, released, None)
                }
                Settlement::Logged(record, window_start) => (record, 0, Some(*window_start)),
            };
            Charged {
                account_id: &record.account_id,
                key_id: &record.key_id,
                budgets: &record.budgets,
                released,
                cost: record.cost,
                window_start,
            }
        });
        // Rows are locked in one order everywhere (each account, then its keys), so that
        // commits of several gateways and their holds never deadlock.
        for (account_id, account) in batch::writes(charges) {
            sqlx::query(
                "UPDATE accounts SET reserved = reserved - $2, usage = usage + $3 WHERE id = $1",
            )
            .bind(account_id)
            .bind(account.released)
            .bind(account.usage)
            .execute(&mut *tx)
            .await?;
            // A logged charge may be the first of a new window: it starts the window over.
            for ((budget_id, window_start), budget) in account.budgets {
                sqlx::query(&charge_window("budgets"))
                    .bind(budget_id)
                    .bind(budget.released)
                    .bind(budget.usage)
                    .bind(window_start.unwrap_or(i64::MIN))
                    .execute(&mut *tx)
                    .await?;
            }
            for ((key_id, window_start), key) in account.keys {
                sqlx::query(&charge_window("api_keys"))
                    .bind(key_id)
                    .bind(key.released)
                    .bind(key.usage)
                    .bind(window_start.unwrap_or(i64::MIN))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for id in taken {
            sqlx::query(DELETE_EMPTY_RESERVATION)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        drop(connection);
        self.wait_for_disk().await
    }

    /// On PostgreSQL, returns once everything committed before it is on disk: a transaction
    /// with a transaction id commits durably, and its commit waits for the write-ahead log up to
    /// its own record, which follows every earlier commit's. SQLite commits durably already.
    async fn wait_for_disk(&self) -> Result<(), StoreError> {
        if self.embedded {
            return Ok(());
        }
        let mut connection = self.connection(Durability::Full).await?;
        let mut tx = connection.begin().await?;
        sqlx::query("SELECT CAST(txid_current() AS BIGINT)")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Releases reservation `reservation.id` without charging, whatever it holds now (a lease
    /// may have grown since `reservation` was read). Returns whether it was still held.
    pub async fn release(&self, reservation: &Reservation) -> Result<bool, StoreError> {
        let mut connection = self.connection(Durability::Relaxed).await?;
        let mut tx = connection.begin().await?;
        self.relax_commit(&mut tx).await?;
        let held = sqlx::query("DELETE FROM reservations WHERE id = $1 RETURNING amount")
            .bind(&reservation.id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(held) = held else {
            tx.rollback().await?;
            return Ok(false);
        };
        let amount: Nanos = held.try_get("amount")?;
        self.unhold(&mut tx, reservation, amount).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Gives back `amount` of reservation `reservation.id` without charging (room a lease does
    /// not use); the reservation goes once empty. Returns whether it still held that much.
    pub async fn give_back(
        &self,
        reservation: &Reservation,
        amount: Nanos,
    ) -> Result<bool, StoreError> {
        let mut connection = self.connection(Durability::Relaxed).await?;
        let mut tx = connection.begin().await?;
        self.relax_commit(&mut tx).await?;
        let held = sqlx::query(TAKE_FROM_RESERVATION)
            .bind(&reservation.id)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
        if held.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        self.unhold(&mut tx, reservation, amount).await?;
        sqlx::query(DELETE_EMPTY_RESERVATION)
            .bind(&reservation.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Takes `amount` off the holds of `reservation`'s account, budgets and key.
    async fn unhold(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        reservation: &Reservation,
        amount: Nanos,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET reserved = reserved - $2 WHERE id = $1")
            .bind(&reservation.account_id)
            .bind(amount)
            .execute(&mut **tx)
            .await?;
        for budget in reservation.budgets.iter() {
            sqlx::query("UPDATE budgets SET reserved = reserved - $2 WHERE id = $1")
                .bind(budget)
                .bind(amount)
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query("UPDATE api_keys SET reserved = reserved - $2 WHERE id = $1")
            .bind(&reservation.key_id)
            .bind(amount)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The generation record `id`.
    pub async fn generation(&self, id: &str) -> Result<Option<GenerationRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM generations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(generation_record).transpose()
    }

    /// What key `id` spent since `since` (unix seconds), nano-USD.
    pub async fn spent_since(&self, key_id: &str, since: i64) -> Result<Nanos, StoreError> {
        Ok(sqlx::query(SPENT_SINCE)
            .bind(key_id)
            .bind(since)
            .fetch_one(&self.pool)
            .await?
            .try_get("spent")?)
    }
}

/// Releases hold `$2` of row `$1` of `table` (keys or budgets) and charges `$3` in its window
/// starting at unix second `$4` (a later window starts over).
fn charge_window(table: &str) -> String {
    format!(
        "UPDATE {table} SET reserved = reserved - $2, usage = usage + $3,
         window_usage = CASE WHEN window_start < $4 THEN $3 ELSE window_usage + $3 END,
         window_start = CASE WHEN window_start < $4 THEN $4 ELSE window_start END
         WHERE id = $1"
    )
}

/// Takes `$2` off reservation `$1`, if it holds that much.
const TAKE_FROM_RESERVATION: &str =
    "UPDATE reservations SET amount = amount - $2 WHERE id = $1 AND amount >= $2";

/// Deletes reservation `$1` if nothing is left in it.
const DELETE_EMPTY_RESERVATION: &str = "DELETE FROM reservations WHERE id = $1 AND amount <= 0";

/// What key `$1` spent since unix second `$2`, as `spent`.
const SPENT_SINCE: &str = "SELECT CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS spent FROM generations
    WHERE key_id = $1 AND created_at >= $2";

const KEY_COLUMNS: &str = "SELECT id, account_id, label, usd_limit, limit_reset, expires_at,
    disabled, requests_per_minute, tokens_per_minute, routing_policy, team_id, policy, usage,
    window_usage, window_start, reserved, created_at FROM api_keys";

/// The budget rows a reservation's stored `budgets` text lists (comma-separated).
pub(crate) fn budget_list(text: &str) -> Arc<[String]> {
    text.split(',')
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

fn key_record(row: &AnyRow) -> Result<KeyRecord, StoreError> {
    let reset: Option<String> = row.try_get("limit_reset")?;
    Ok(KeyRecord {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        label: row.try_get("label")?,
        limit: row.try_get("usd_limit")?,
        limit_reset: reset
            .map(|text| LimitReset::parse(&text).ok_or(StoreError::Corrupt("limit reset")))
            .transpose()?,
        expires_at: row.try_get("expires_at")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        requests_per_minute: row.try_get("requests_per_minute")?,
        tokens_per_minute: row.try_get("tokens_per_minute")?,
        routing_policy: row.try_get("routing_policy")?,
        team_id: row.try_get("team_id")?,
        policy: stored_policy(row.try_get("policy")?)?,
        scope: Arc::default(),
        usage: row.try_get("usage")?,
        window_usage: row.try_get("window_usage")?,
        window_start: row.try_get("window_start")?,
        reserved: row.try_get("reserved")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn generation_record(row: &AnyRow) -> Result<GenerationRecord, StoreError> {
    Ok(GenerationRecord {
        id: row.try_get("id")?,
        key_id: row.try_get("key_id")?,
        account_id: row.try_get("account_id")?,
        team_id: row.try_get("team_id")?,
        budgets: Vec::new(),
        model: row.try_get("model")?,
        provider: row.try_get("provider")?,
        prompt_tokens: row.try_get("prompt_tokens")?,
        completion_tokens: row.try_get("completion_tokens")?,
        reasoning_tokens: row.try_get("reasoning_tokens")?,
        cached_tokens: row.try_get("cached_tokens")?,
        cache_write_tokens: row.try_get("cache_write_tokens")?,
        cost: row.try_get("cost")?,
        upstream_cost: row.try_get("upstream_cost")?,
        latency_ms: row.try_get("latency_ms")?,
        generation_ms: row.try_get("generation_ms")?,
        finish_reason: row.try_get("finish_reason")?,
        streamed: row.try_get::<i64, _>("streamed")? != 0,
        cancelled: row.try_get::<i64, _>("cancelled")? != 0,
        attempts: row.try_get("attempts")?,
        created_at: row.try_get("created_at")?,
        usage_estimated: row.try_get::<i64, _>("usage_estimated")? != 0,
        excess_cost: row.try_get("excess_cost")?,
        charge_note: row.try_get("charge_note")?,
        cache_hit: row.try_get::<i64, _>("cache_hit")? != 0,
        byok: row.try_get::<i64, _>("byok")? != 0,
        end_user: row.try_get("end_user")?,
    })
}

/// Generation records inserted by one statement (one value per column, about 26 each: well under
/// SQLite's 32,766 and PostgreSQL's 65,535 bound parameters).
const RECORDS_PER_INSERT: usize = 256;

/// How many of `left` records the next insert takes: the largest power of two up to
/// [`RECORDS_PER_INSERT`]. Statements are prepared once per text and cached, so a batch of any
/// size is written with at most nine statements of nine sizes, all prepared already; one
/// statement per batch size would make the database parse and plan a new statement of
/// thousands of parameters for nearly every batch.
fn rows_per_insert(left: usize) -> usize {
    let most = left.min(RECORDS_PER_INSERT);
    if most == 0 { 0 } else { 1 << most.ilog2() }
}

/// The columns of a generation record, in the order [`insert_records`] binds them.
const GENERATION_COLUMNS: [&str; 26] = [
    "id",
    "key_id",
    "account_id",
    "team_id",
    "model",
    "provider",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cost",
    "upstream_cost",
    "latency_ms",
    "generation_ms",
    "finish_reason",
    "streamed",
    "cancelled",
    "attempts",
    "created_at",
    "usage_estimated",
    "excess_cost",
    "charge_note",
    "cache_hit",
    "byok",
    "end_user",
];

/// The text of an insert of `rows` records into the `embedded` SQLite database or PostgreSQL.
fn insert_sql(embedded: bool, rows: usize) -> String {
    let columns = GENERATION_COLUMNS.len();
    // SQLite binds a named parameter (`$7`) by looking its name up in a list, once per
    // parameter: quadratic in a statement of thousands (6.5 % of a keyed gateway's CPU under
    // load). Anonymous ones (`?`) bind in order without a lookup.
    let placeholder = |index: usize| {
        if embedded {
            "?".to_owned()
        } else {
            format!("${index}")
        }
    };
    let rows: Vec<String> = (0..rows)
        .map(|row| {
            let values: Vec<String> = (1..=columns)
                .map(|column| placeholder(row * columns + column))
                .collect();
            format!("({})", values.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO generations ({}) VALUES {} ON CONFLICT (id) DO NOTHING",
        GENERATION_COLUMNS.join(", "),
        rows.join(", ")
    )
}

/// Insert texts of every size [`rows_per_insert`] gives (the powers of two up to
/// [`RECORDS_PER_INSERT`], by exponent), for the `embedded` SQLite database or PostgreSQL.
fn insert_sizes(embedded: bool) -> Vec<String> {
    (0..=RECORDS_PER_INSERT.ilog2())
        .map(|exponent| insert_sql(embedded, 1 << exponent))
        .collect()
}

/// Insert texts of SQLite, built on first use: a batch reuses them instead of formatting
/// thousands of placeholders again.
static SQLITE_INSERTS: LazyLock<Vec<String>> = LazyLock::new(|| insert_sizes(true));

/// Insert texts of PostgreSQL, built on first use.
static POSTGRES_INSERTS: LazyLock<Vec<String>> = LazyLock::new(|| insert_sizes(false));

/// The text of an insert of `rows` records into the `embedded` SQLite database or PostgreSQL:
/// built already for every size [`rows_per_insert`] gives, built now for any other.
fn insert_statement(embedded: bool, rows: usize) -> Cow<'static, str> {
    let built = if embedded {
        &SQLITE_INSERTS
    } else {
        &POSTGRES_INSERTS
    };
    rows.is_power_of_two()
        .then(|| built.get(rows.ilog2() as usize))
        .flatten()
        .map_or_else(
            || insert_sql(embedded, rows).into(),
            |sql| sql.as_str().into(),
        )
}

/// Inserts `records` with one multi-row statement (into the `embedded` SQLite database or
/// PostgreSQL), skipping those stored already; returns how many it inserted.
async fn insert_records<'r>(
    tx: &mut sqlx::Transaction<'_, Any>,
    embedded: bool,
    records: impl ExactSizeIterator<Item = &'r GenerationRecord>,
) -> Result<usize, StoreError> {
    let sql = insert_statement(embedded, records.len());
    let mut query = sqlx::query(&sql);
    for record in records {
        query = query
            .bind(record.id.as_str())
            .bind(record.key_id.as_str())
            .bind(record.account_id.as_str())
            .bind(record.team_id.as_deref())
            .bind(record.model.as_str())
            .bind(record.provider.as_str())
            .bind(record.prompt_tokens)
            .bind(record.completion_tokens)
            .bind(record.reasoning_tokens)
            .bind(record.cached_tokens)
            .bind(record.cache_write_tokens)
            .bind(record.cost)
            .bind(record.upstream_cost)
            .bind(record.latency_ms)
            .bind(record.generation_ms)
            .bind(record.finish_reason.as_deref())
            .bind(i64::from(record.streamed))
            .bind(i64::from(record.cancelled))
            .bind(record.attempts.as_str())
            .bind(record.created_at)
            .bind(i64::from(record.usage_estimated))
            .bind(record.excess_cost)
            .bind(record.charge_note.as_deref())
            .bind(i64::from(record.cache_hit))
            .bind(i64::from(record.byok))
            .bind(record.end_user.as_deref());
    }
    let inserted = query.execute(&mut **tx).await?.rows_affected();
    Ok(usize::try_from(inserted).unwrap_or(usize::MAX))
}

impl Store {
    /// The budget rows whose id starts with `prefix` (one owner's model budgets), by glob.
    pub async fn model_budgets(&self, prefix: &str) -> Result<ModelBudgets, StoreError> {
        let owners = self.model_budgets_by_owner(prefix).await?;
        Ok(owners.into_values().next().unwrap_or_default())
    }

    /// The model budgets of every owner of `level` (key or team), by owner and glob: one
    /// range scan.
    pub async fn model_budgets_of_level(
        &self,
        level: Level,
    ) -> Result<BTreeMap<String, ModelBudgets>, StoreError> {
        self.model_budgets_by_owner(level_prefix(level)).await
    }

    /// The model budgets whose rows start with `prefix` (one owner's, or a whole level's), by
    /// owner and glob: one range scan.
    async fn model_budgets_by_owner(
        &self,
        prefix: &str,
    ) -> Result<BTreeMap<String, ModelBudgets>, StoreError> {
        let rows = sqlx::query(&format!("{BUDGET_COLUMNS} WHERE id >= $1 AND id < $2"))
            .bind(prefix)
            .bind(range_end(prefix))
            .fetch_all(self.pool())
            .await?;
        let mut owners: BTreeMap<String, ModelBudgets> = BTreeMap::new();
        for row in &rows {
            let record = budget_record(row)?;
            if let Some((_, owner, pattern)) = parse_id(&record.id) {
                let pattern = pattern.to_owned();
                owners
                    .entry(owner.to_owned())
                    .or_default()
                    .insert(pattern, record);
            }
        }
        Ok(owners)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_inserted_in_statements_of_few_sizes() {
        let sizes = |mut left: usize| {
            let mut sizes = Vec::new();
            while left > 0 {
                let rows = rows_per_insert(left);
                sizes.push(rows);
                left -= rows;
            }
            sizes
        };
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(13), [8, 4, 1]);
        assert_eq!(sizes(600), [256, 256, 64, 16, 8]);
        assert_eq!(rows_per_insert(0), 0);
    }

    #[test]
    fn an_insert_of_each_size_has_a_placeholder_per_value() {
        let columns = GENERATION_COLUMNS.len();
        for rows in [1, 2, 3, 8, 100, 256, 300] {
            let sqlite = insert_statement(true, rows);
            assert_eq!(sqlite.matches('?').count(), rows * columns, "{rows} rows");
            let postgres = insert_statement(false, rows);
            let last = rows * columns;
            assert!(postgres.contains(&format!("${last})")), "{rows} rows");
            assert!(!postgres.contains(&format!("${}", last + 1)), "{rows} rows");
        }
    }
}
