//! Budget leases on a shared database (PostgreSQL): a gateway holds room of a key and its
//! account in one reservation row of its own (a lease), and takes each request's hold from it in
//! memory. A request therefore waits for no database round trip of its own: the lease grows by
//! room for as many holds as the key took in the last half second ([`Pace`]; at least
//! [`MIN_HOLDS_PER_LEASE`], at most [`MAX_HOLDS_PER_LEASE`]), in the background when half of
//! that is left or half its trust is spent, and in the request only when it ran short all the
//! same. So a busy key's lease changes a few times a second, whatever its traffic.
//!
//! What the other gateways see: the room of every lease is reserved in the database, so that
//! together they still never spend past a key's limit or an account's credits. A lease takes at
//! most an eighth of the room left ([`super::store::LeaseGrant`]), and room a gateway does not
//! use goes back once no hold used the lease for [`LEASE_TRUST`] (checked as often), so a key
//! near its limit is shared.
//!
//! A lease grows and gives room back in a task of its own, which the request waits for: a
//! request given up midway cannot leave the memory and the row apart.
//!
//! A key has a lease per set of budgets its requests hold against: its team's and account's,
//! and those a request adds (its end user's, the key's and team's budgets on its models). A
//! lease of an end user grows by what each hold needs only, so that the key's room is not
//! spread over the leases of thousands of end users.
//!
//! A lease is trusted for [`LEASE_TRUST`] after the database last confirmed it (as keys are in
//! the key cache): then the next hold asks the database again, which applies a key disabled,
//! expired, deleted or given a lower limit by another gateway, and refreshes the row, so that
//! the reservation sweep never takes a live lease for one a stopped gateway left. A gateway
//! that crashes leaves its leases to that sweep, like any hold.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::store::{KeyRecord, LeaseGrant, Refusal, Reservation, Store};
use switchyard_domain::money::Nanos;
use switchyard_domain::store_error::StoreError;

/// Holds of the current size a lease grows by at least.
pub const MIN_HOLDS_PER_LEASE: Nanos = 64;

/// Holds of the current size a lease grows by at most.
pub const MAX_HOLDS_PER_LEASE: Nanos = 16_384;

/// The period holds are counted over to size a lease: it is grown to last about that long.
const PACE_PERIOD: Duration = Duration::from_millis(500);

/// How long a lease is used without asking the database, and how long unused room is kept.
pub const LEASE_TRUST: Duration = super::keycache::SHARED_DATABASE_TTL;

/// The leases of one key, by the budgets they hold against.
type KeyLeases = HashMap<Arc<[String]>, Arc<Lease>>;

/// The leases of this gateway, by key id.
#[derive(Debug)]
pub struct Leases {
    store: Store,
    by_key: Mutex<HashMap<String, KeyLeases>>,
}

/// Room held for one key in one reservation row.
#[derive(Debug)]
struct Lease {
    /// The reservation row; the key and account it holds for.
    row: Reservation,
    room: Mutex<Room>,
    /// Taken while the lease grows or gives room back: one database change at a time.
    changing: tokio::sync::Mutex<()>,
    /// A background growth is under way.
    growing: AtomicBool,
    /// Grows by what each hold needs only (an end user's lease).
    per_hold: bool,
}

/// A lease's room as this gateway counts it: never more than its row holds (the row shrinks
/// after the memory when a settlement commits, and grows before it).
#[derive(Debug)]
struct Room {
    /// Reserved in the row for this gateway, nano-USD.
    leased: Nanos,
    /// The part of it held by requests in flight, nano-USD.
    held: Nanos,
    /// When the database last confirmed the lease (`None`: never).
    confirmed: Option<Instant>,
    /// When a request last held from it.
    last_hold: Instant,
    /// Out of the map: a new lease serves the key.
    retired: bool,
    /// How many holds the lease served lately.
    pace: Pace,
}

/// Holds counted per [`PACE_PERIOD`]: the current period's and the last one's.
#[derive(Debug)]
struct Pace {
    period_start: Instant,
    current: Nanos,
    previous: Nanos,
}

impl Pace {
    fn new(now: Instant) -> Pace {
        Pace {
            period_start: now,
            current: 0,
            previous: 0,
        }
    }

    /// Counts a hold at `now`.
    fn count(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.period_start);
        if elapsed >= PACE_PERIOD {
            // A period with no hold at all in between counts as none.
            self.previous = if elapsed < 2 * PACE_PERIOD {
                self.current
            } else {
                0
            };
            self.current = 0;
            self.period_start = now;
        }
        self.current += 1;
    }

    /// How many holds a growth makes room for: a period's worth at the recent pace.
    fn holds_wanted(&self) -> Nanos {
        self.current
            .max(self.previous)
            .clamp(MIN_HOLDS_PER_LEASE, MAX_HOLDS_PER_LEASE)
    }
}

impl Room {
    /// Whether the database confirmed the lease less than [`LEASE_TRUST`] before `now`.
    fn trusted(&self, now: Instant) -> bool {
        self.confirmed
            .is_some_and(|confirmed| now.duration_since(confirmed) < LEASE_TRUST)
    }

    /// Holds `amount` if the lease is trusted and has room for it.
    fn try_hold(&mut self, amount: Nanos, now: Instant) -> bool {
        if self.retired || !self.trusted(now) || self.free() < amount {
            return false;
        }
        self.held += amount;
        self.last_hold = now;
        self.pace.count(now);
        true
    }

    fn free(&self) -> Nanos {
        self.leased.saturating_sub(self.held).max(0)
    }

    /// Whether the lease should grow ahead of need: under half the room `wanted` left, or half
    /// its trust spent.
    fn running_low(&self, wanted: Nanos, now: Instant) -> bool {
        self.free() < wanted / 2
            || self
                .confirmed
                .is_none_or(|confirmed| now.duration_since(confirmed) >= LEASE_TRUST / 2)
    }

    /// Adds `granted` room the database just confirmed.
    fn grown(&mut self, granted: Nanos, now: Instant) {
        self.leased = self.leased.saturating_add(granted);
        self.confirmed = Some(now);
    }
}

impl Lease {
    fn new(key: &KeyRecord, budgets: &Arc<[String]>) -> Lease {
        Lease {
            per_hold: budgets.iter().any(|id| id.starts_with("user:")),
            row: Reservation {
                id: super::keys::random_id("lease"),
                key_id: key.id.clone(),
                account_id: key.account_id.clone(),
                amount: 0,
                budgets: budgets.clone(),
            },
            room: Mutex::new(Room {
                leased: 0,
                held: 0,
                confirmed: None,
                last_hold: Instant::now(),
                retired: false,
                pace: Pace::new(Instant::now()),
            }),
            changing: tokio::sync::Mutex::new(()),
            growing: AtomicBool::new(false),
        }
    }

    fn room(&self) -> MutexGuard<'_, Room> {
        self.room.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request's hold of `amount` from this lease.
    fn reservation(&self, amount: Nanos) -> Reservation {
        Reservation {
            amount,
            ..self.row.clone()
        }
    }

    /// Grows this lease by enough for a hold of `amount` (0: none, only confirmed) and up to
    /// `wanted`, in the database and then in memory; nothing when it was retired meanwhile, or
    /// when a growth meanwhile made room for `amount`. Runs in a task of its own (see
    /// [`spawn`]), so that a request given up meanwhile cannot leave a change half made.
    async fn grow(
        self: Arc<Self>,
        key: KeyRecord,
        store: Store,
        amount: Nanos,
        wanted: Nanos,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let _changing = self.changing.lock().await;
        let need = {
            let room = self.room();
            if room.retired || (amount > 0 && room.trusted(Instant::now()) && room.free() >= amount)
            {
                return Ok(Ok(()));
            }
            amount.saturating_sub(room.free())
        };
        let grant = LeaseGrant { need, wanted };
        Ok(store
            .lease(&key, &self.row.id, &self.row.budgets, grant)
            .await?
            .map(|granted| self.room().grown(granted, Instant::now())))
    }

    /// Gives back the room no request holds, to the database first (a give-back that fails
    /// keeps it). Runs in a task of its own (see [`spawn`]).
    async fn give_back_free(self: Arc<Self>, store: Store) {
        let _changing = self.changing.lock().await;
        let free = {
            let mut room = self.room();
            let free = room.free();
            room.leased -= free;
            free
        };
        if free == 0 {
            return;
        }
        if let Err(error) = store.give_back(&self.row, free).await {
            tracing::error!(lease = %self.row.id, %error, "cannot give back a lease's unused room; kept");
            self.room().leased += free;
        }
    }
}

/// Runs a change of a lease to its end in a task of its own and waits for it.
async fn spawn<T: Send + 'static>(
    change: impl Future<Output = T> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::spawn(change)
        .await
        .map_err(|error| StoreError::Interrupted(error.to_string()))
}

impl Leases {
    /// No leases yet, on `store`.
    pub fn new(store: Store) -> Leases {
        Leases {
            store,
            by_key: Mutex::new(HashMap::new()),
        }
    }

    /// Holds `amount` for a request of `key` against `budgets` too: from the key's lease of
    /// those when it has room, else growing the lease in the database first.
    pub async fn reserve(
        &self,
        key: &KeyRecord,
        amount: Nanos,
        budgets: &Arc<[String]>,
    ) -> Result<Result<Reservation, Refusal>, StoreError> {
        loop {
            let lease = self.lease_of(key, budgets);
            let now = Instant::now();
            let (held, low, wanted) = {
                let mut room = lease.room();
                let held = room.try_hold(amount, now);
                let holds = if lease.per_hold {
                    1
                } else {
                    room.pace.holds_wanted()
                };
                let wanted = amount.saturating_mul(holds);
                (held, held && room.running_low(wanted, now), wanted)
            };
            if low {
                self.grow_in_background(&lease, key, wanted);
            }
            if held {
                return Ok(Ok(lease.reservation(amount)));
            }
            // Short of room or trust: grow the lease, then try again.
            let growth = lease
                .clone()
                .grow(key.clone(), self.store.clone(), amount, wanted);
            if let Err(refusal) = spawn(growth).await?? {
                return Ok(Err(refusal));
            }
        }
    }

    /// Grows `lease` by up to `wanted` (and confirms it) in a task of its own, unless a growth is
    /// under way. A refusal (the key or account changed elsewhere) withdraws the lease's trust:
    /// the next hold asks the database again, and is refused unless room was made meanwhile.
    fn grow_in_background(&self, lease: &Arc<Lease>, key: &KeyRecord, wanted: Nanos) {
        if lease.growing.swap(true, Ordering::AcqRel) {
            return;
        }
        let growth = lease
            .clone()
            .grow(key.clone(), self.store.clone(), 0, wanted);
        let lease = lease.clone();
        tokio::spawn(async move {
            match growth.await {
                Ok(Ok(())) => {}
                Ok(Err(refusal)) => {
                    tracing::debug!(lease = %lease.row.id, ?refusal, "lease not grown");
                    lease.room().confirmed = None;
                }
                Err(error) => tracing::warn!(lease = %lease.row.id, %error, "cannot grow a lease"),
            }
            lease.growing.store(false, Ordering::Release);
        });
    }

    /// The lease `reservation` was held from, if it still serves its key.
    fn lease_held(&self, reservation: &Reservation) -> Option<Arc<Lease>> {
        self.map()
            .get(&reservation.key_id)?
            .get(&reservation.budgets[..])
            .filter(|lease| lease.row.id == reservation.id)
            .cloned()
    }

    /// Settles `reservation` in memory: its hold leaves the lease with the room it took (the
    /// settlement takes the same amount off the row when it commits).
    pub fn settled(&self, reservation: &Reservation) {
        if let Some(lease) = self.lease_held(reservation) {
            let mut room = lease.room();
            room.held -= reservation.amount;
            room.leased -= reservation.amount;
        }
    }

    /// Releases `reservation` without charging: its room stays in the lease for the next hold.
    pub fn release(&self, reservation: &Reservation) {
        if let Some(lease) = self.lease_held(reservation) {
            lease.room().held -= reservation.amount;
        }
    }

    /// Gives back the room of every lease no hold used for `idle`, and retires the leases left
    /// empty; `Duration::ZERO` gives back all unused room now.
    pub async fn give_back_unused(&self, idle: Duration) {
        let leases: Vec<Arc<Lease>> = (self.map().values())
            .flat_map(|leases| leases.values().cloned())
            .collect();
        let now = Instant::now();
        for lease in leases {
            if now.duration_since(lease.room().last_hold) < idle {
                continue;
            }
            if spawn(lease.clone().give_back_free(self.store.clone()))
                .await
                .is_err()
            {
                continue;
            }
            let mut by_key = self.map();
            let mut room = lease.room();
            if room.leased == 0 && room.held == 0 {
                room.retired = true;
                if let Some(leases) = by_key.get_mut(&lease.row.key_id) {
                    leases.remove(&lease.row.budgets[..]);
                    if leases.is_empty() {
                        by_key.remove(&lease.row.key_id);
                    }
                }
            }
        }
    }

    /// Gives back the unused room of key `id`'s leases and retires them (the key changed): its
    /// next hold asks the database.
    pub async fn forget(&self, id: &str) {
        let Some(leases) = self.map().remove(id) else {
            return;
        };
        for lease in leases.into_values() {
            lease.room().retired = true;
            if let Err(error) = spawn(lease.clone().give_back_free(self.store.clone())).await {
                tracing::error!(lease = %lease.row.id, %error, "a lease's unused room was not given back");
            }
        }
    }

    /// The lease of `key` held against `budgets`, new when it has none (the key's id and the
    /// budgets are copied only then: this runs for every request). A lease held against budgets
    /// the key no longer has (it moved to another team) serves no hold any more: its unused
    /// room is given back once idle.
    fn lease_of(&self, key: &KeyRecord, budgets: &Arc<[String]>) -> Arc<Lease> {
        let mut by_key = self.map();
        if let Some(lease) = by_key
            .get(&key.id)
            .and_then(|leases| leases.get(&budgets[..]))
        {
            return lease.clone();
        }
        let lease = Arc::new(Lease::new(key, budgets));
        by_key
            .entry(key.id.clone())
            .or_default()
            .insert(budgets.clone(), lease.clone());
        lease
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, KeyLeases>> {
        self.by_key.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(leased: Nanos, held: Nanos, confirmed: Option<Instant>) -> Room {
        Room {
            leased,
            held,
            confirmed,
            last_hold: Instant::now(),
            retired: false,
            pace: Pace::new(Instant::now()),
        }
    }

    #[test]
    fn a_hold_fits_only_a_trusted_lease_with_room() {
        let now = Instant::now();
        let mut trusted = room(100, 40, Some(now));
        assert!(trusted.try_hold(60, now));
        assert!(!trusted.try_hold(1, now), "no room left");
        let mut unconfirmed = room(100, 0, None);
        assert!(!unconfirmed.try_hold(1, now));
        let mut stale = room(100, 0, Some(now));
        assert!(!stale.try_hold(1, now + LEASE_TRUST), "trust runs out");
        let mut retired = room(100, 0, Some(now));
        retired.retired = true;
        assert!(!retired.try_hold(1, now));
    }

    #[test]
    fn a_lease_grows_ahead_when_half_its_room_or_trust_is_spent() {
        let now = Instant::now();
        assert!(!room(100, 40, Some(now)).running_low(100, now));
        assert!(room(100, 60, Some(now)).running_low(100, now), "room");
        let half_trust = now + LEASE_TRUST / 2;
        assert!(
            room(100, 0, Some(now)).running_low(100, half_trust),
            "trust"
        );
    }

    #[test]
    fn a_lease_is_sized_by_the_holds_of_the_last_period() {
        let start = Instant::now();
        let mut pace = Pace::new(start);
        assert_eq!(pace.holds_wanted(), MIN_HOLDS_PER_LEASE, "idle");
        for _ in 0..1_000 {
            pace.count(start);
        }
        assert_eq!(pace.holds_wanted(), 1_000, "this period");
        pace.count(start + PACE_PERIOD);
        assert_eq!(pace.holds_wanted(), 1_000, "the last period");
        pace.count(start + 3 * PACE_PERIOD);
        assert_eq!(
            pace.holds_wanted(),
            MIN_HOLDS_PER_LEASE,
            "a quiet period between"
        );
        for _ in 0..100_000 {
            pace.count(start + 3 * PACE_PERIOD);
        }
        assert_eq!(pace.holds_wanted(), MAX_HOLDS_PER_LEASE, "bounded");
    }

    #[test]
    fn a_lease_grows_by_a_share_of_the_room_left() {
        let grant = LeaseGrant {
            need: 10,
            wanted: 640,
        };
        assert_eq!(grant.size(1_000_000, None), Ok(640));
        // An eighth of the smaller room, but never less than the need.
        assert_eq!(grant.size(1_000_000, Some(800)), Ok(100));
        assert_eq!(grant.size(40, Some(800)), Ok(10));
        assert_eq!(grant.size(9, None), Err(Refusal::Credits));
        assert_eq!(grant.size(1_000, Some(9)), Err(Refusal::KeyLimit));
    }
}
