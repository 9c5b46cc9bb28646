//! Keys, credits and usage accounting: who may call, what a call may cost before it runs, and
//! what it did cost once it ran, in a database that survives crashes.
//!
//! [`store`] is the storage interface (SQLite or PostgreSQL), [`holds`] where a request's hold
//! lives ([`books`] in memory for the embedded database, a [`lease`] of a shared one),
//! [`settler`] the durable log of settlements, [`tab`] the accounting of one request, [`keys`]
//! the secrets, [`rate`] the per-key rate limits, [`admin`] what the admin API changes,
//! [`teams`] the teams of an account, [`scope`] and [`policy`] what accounts and teams impose
//! on their keys, [`budgets`] and [`model_budgets`] the budgets they set, [`admin_tokens`] the
//! tokens of the admin API, [`audit`] the record of admin changes, [`end_users`] the end users a
//! request names, [`reports`] the usage listings, [`byok`] accounts' own provider keys, sealed,
//! and [`worst_case`] the most a request can cost, which its hold covers. Amounts and limit
//! windows are `switchyard_domain::money`.
//!
//! Layer 7 of the host (see `.ci/layers`): it may depend on every crate up to routing. Money
//! is decimal nano-dollars; nothing here touches floats.

pub mod admin;
pub mod admin_tokens;
pub mod audit;
pub mod batch;
pub mod books;
pub mod budgets;
pub mod byok;
pub mod end_users;
pub mod holds;
mod keycache;
pub mod keys;
pub mod lease;
pub mod model_budgets;
pub mod policy;
pub mod rate;
pub mod reports;
mod schema;
pub mod scope;
pub mod settler;
pub mod spool;
pub mod store;
pub mod tab;
pub mod teams;
pub mod worst_case;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{HeaderMap, header};

use crate::byok::Byok;
use books::Books;
use holds::{Holds, Ledger};
use keycache::{KeyCache, Lookup};
use keys::SecretDigest;
use lease::{LEASE_TRUST, Leases};
use rate::RateLimiter;
use settler::Settler;
use store::{KeyRecord, Store};
use switchyard_domain::config::{AcceptedFailureCharge, AccountingConfig};
use switchyard_domain::error::DomainError;
use switchyard_domain::money::now;
use switchyard_domain::store_error::StoreError;
use tab::Tab;
use tokio::sync::mpsc;

/// How often reservations left by stopped gateways are looked for.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// How long a stopping gateway waits for the settlements of requests still open.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// The accounting of a running gateway.
#[derive(Debug)]
pub struct Accounting {
    /// The database.
    pub store: Store,
    /// Accounts' own provider keys.
    pub byok: Byok,
    /// Per-key rate limits.
    limiter: Arc<RateLimiter>,
    /// Commits settlements in groups.
    settler: Settler,
    /// Holds and settlements of requests.
    holds: Holds,
    /// Where holds are checked: balances in memory, when this gateway owns the (embedded)
    /// database, or leases of a shared one.
    ledger: Ledger,
    /// Keys by secret digest: for good when this gateway owns the (embedded) database, for a
    /// moment on a shared one.
    key_cache: Arc<KeyCache>,
    /// End users registered already.
    known_end_users: end_users::KnownEndUsers,
    /// Cloned into every open tab; [`Accounting::drain`] waits until all are gone.
    open_tabs: Mutex<Option<mpsc::Sender<()>>>,
    all_closed: tokio::sync::Mutex<mpsc::Receiver<()>>,
    /// Whether failed attempts the upstream accepted are charged.
    charge_accepted: AcceptedFailureCharge,
}

impl Accounting {
    /// Opens the database and recovers reservations a crashed gateway left: all of them on the
    /// embedded SQLite file (one gateway owns it: its holds live in memory from now on), those
    /// older than `reservation_timeout_secs` on PostgreSQL (other gateways may be serving);
    /// then sweeps stale reservations periodically.
    pub async fn start(config: &AccountingConfig) -> Result<Accounting, StoreError> {
        let store = Store::open(config).await?;
        let limiter = RateLimiter::connect(
            config.redis_url.as_deref(),
            Duration::from_millis(config.redis_timeout_ms),
        )
        .await
        .map_err(StoreError::Redis)?;
        let timeout = i64::try_from(config.reservation_timeout_secs).unwrap_or(i64::MAX);
        let before = if store.is_embedded() {
            i64::MAX
        } else {
            now().saturating_sub(timeout)
        };
        let released = store.release_stale(before).await?;
        if released > 0 {
            tracing::warn!(
                released,
                "released reservations left by a gateway that stopped"
            );
        }
        let sweeper = store.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SWEEP_INTERVAL).await;
                match sweeper.release_stale(now().saturating_sub(timeout)).await {
                    Ok(0) => {}
                    Ok(released) => tracing::warn!(released, "released stale reservations"),
                    Err(error) => tracing::error!(%error, "reservation sweep failed"),
                }
            }
        });
        let (open_tabs, all_closed) = mpsc::channel(1);
        let spool = spool::Spool::new(config.spool_file());
        let settler = Settler::start(store.clone(), spool, config.spool_limit.max(1)).await;
        // Settlements spooled before the last stop are stored before the books are read.
        if let Err(error) = settler.flush().await {
            tracing::error!(%error, "settlements spooled before the last stop are not stored yet");
        }
        let embedded = store.is_embedded();
        let ledger = if embedded {
            Ledger::Books(Arc::new(Books::default()))
        } else {
            let leases = Arc::new(Leases::new(store.clone()));
            tokio::spawn(give_back_unused_leases(Arc::downgrade(&leases)));
            Ledger::Leases(leases)
        };
        Ok(Accounting {
            byok: Byok::new(&config.byok, store.clone())?,
            holds: Holds::new(store.clone(), settler.clone(), ledger.clone()),
            ledger,
            key_cache: Arc::new(KeyCache::new(
                (!embedded).then_some(keycache::SHARED_DATABASE_TTL),
            )),
            known_end_users: end_users::KnownEndUsers::default(),
            settler,
            store,
            limiter: Arc::new(limiter),
            open_tabs: Mutex::new(Some(open_tabs)),
            all_closed: tokio::sync::Mutex::new(all_closed),
            charge_accepted: config.charge_accepted_failures,
        })
    }

    /// The tab of a chat request: its key authorized and within its rate limits.
    pub async fn admit(&self, headers: &HeaderMap) -> Result<Tab, DomainError> {
        let key = self.authorize(headers).await?;
        // A request served now could not have its charge kept.
        self.settler
            .backlogged()
            .map_err(DomainError::AccountingUnavailable)?;
        if let Err(retry_after_secs) = self.limiter.admit(&key).await {
            return Err(DomainError::KeyRateLimited { retry_after_secs });
        }
        let byok = (self.byok.of_account(&key.account_id).await).map_err(storage_error)?;
        let open = self
            .open_tabs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Ok(Tab::new(
            self.holds.clone(),
            self.limiter.clone(),
            key,
            byok,
            open,
            self.charge_accepted,
        ))
    }

    /// Waits (at most a minute) until every open tab has settled or released and every
    /// settlement is committed: called once the server stopped taking requests, so that no
    /// charge is lost to a shutdown.
    pub async fn drain(&self) {
        drop(
            self.open_tabs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let mut all_closed = self.all_closed.lock().await;
        if tokio::time::timeout(DRAIN_LIMIT, all_closed.recv())
            .await
            .is_err()
        {
            tracing::error!(
                "requests still open after a minute; their holds stay until the next start"
            );
        }
        if let Err(error) = self.settler.flush().await {
            tracing::error!(%error, "settlements not committed before stopping");
        }
        self.holds.give_back_unused(Duration::ZERO).await;
    }

    /// The usable key whose secret is the request's bearer token.
    pub async fn authorize(&self, headers: &HeaderMap) -> Result<Arc<KeyRecord>, DomainError> {
        let secret = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|secret| !secret.is_empty())
            .ok_or(DomainError::MissingApiKey)?;
        let digest = SecretDigest::of(secret);
        let key = match self.key_cache.get(&digest) {
            Lookup::Fresh(key) => key,
            Lookup::Stale(key) => {
                self.read_again(digest, &key.id);
                key
            }
            Lookup::Missing => {
                let generation = self.key_cache.generation();
                let key = read_key(&self.store, &digest)
                    .await
                    .map_err(storage_error)?
                    .ok_or(DomainError::UnknownApiKey)?;
                let key = Arc::new(key);
                self.key_cache.insert(digest, key.clone(), generation);
                key
            }
        };
        if !key.usable(now()) {
            return Err(DomainError::ApiKeyUnusable);
        }
        Ok(key)
    }

    /// Reads key `id`, whose secret has `digest`, again in the background, for the key cache.
    fn read_again(&self, digest: SecretDigest, id: &str) {
        let (store, cache) = (self.store.clone(), self.key_cache.clone());
        let generation = cache.generation();
        let id = id.to_owned();
        tokio::spawn(async move {
            match read_key(&store, &digest).await {
                Ok(Some(key)) => cache.insert(digest, Arc::new(key), generation),
                // Deleted meanwhile: refused from now on.
                Ok(None) => cache.forget(&id),
                Err(error) => tracing::warn!(%error, "a key could not be read again"),
            }
        });
    }
}

/// The key whose secret has `digest`, with what its team and account impose on it.
async fn read_key(store: &Store, digest: &SecretDigest) -> Result<Option<KeyRecord>, StoreError> {
    let Some(mut key) = store.key_by_hash(&digest.hex()).await? else {
        return Ok(None);
    };
    key.scope = Arc::new(store.scope(&key).await?);
    Ok(Some(key))
}

/// Gives back, every [`LEASE_TRUST`], the room of leases no request used since, until the
/// leases are dropped.
async fn give_back_unused_leases(leases: std::sync::Weak<Leases>) {
    loop {
        tokio::time::sleep(LEASE_TRUST).await;
        let Some(leases) = leases.upgrade() else {
            return;
        };
        leases.give_back_unused(LEASE_TRUST).await;
    }
}

/// A database that failed (logged): the books cannot be kept, so nothing is served.
pub fn storage_error(error: StoreError) -> DomainError {
    tracing::error!(%error, "accounting database");
    DomainError::AccountingUnavailable(error)
}
