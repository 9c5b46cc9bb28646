//! The balances of the embedded SQLite database, kept in memory by the one gateway that owns
//! the file: holds are taken and released here without touching the disk, and a settlement
//! moves its charge from held to spent here at once; the database is the durable log of
//! settlements (written by the [`super::settler`]) that the books are loaded from at start.
//! Holds are never written: a crash loses them, which releases them.
//!
//! Keys enter the books on their first hold (from the key record just read), accounts from
//! the database on the first hold of one of their keys; neither leaves them, except a deleted
//! key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::money::{LimitReset, Nanos};
use super::store::{Account, KeyRecord, Refusal, Reservation};

/// Balances held in memory.
#[derive(Debug, Default)]
pub struct Books {
    state: Mutex<State>,
    /// Numbers the holds (a hold lives only in this process).
    holds: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    keys: HashMap<String, KeyBalance>,
    accounts: HashMap<String, Account>,
}

/// A key's limit settings and spending.
#[derive(Debug, Clone)]
struct KeyBalance {
    limit: Option<Nanos>,
    limit_reset: Option<LimitReset>,
    disabled: bool,
    expires_at: Option<i64>,
    usage: Nanos,
    window_usage: Nanos,
    window_start: i64,
    reserved: Nanos,
}

impl KeyBalance {
    fn of(key: &KeyRecord) -> KeyBalance {
        KeyBalance {
            limit: key.limit,
            limit_reset: key.limit_reset,
            disabled: key.disabled,
            expires_at: key.expires_at,
            usage: key.usage,
            window_usage: key.window_usage,
            window_start: key.window_start,
            reserved: 0,
        }
    }

    /// Starts a new limit window when `now` is past the current one.
    fn roll_window(&mut self, now: i64) {
        if let Some(reset) = self.limit_reset {
            let start = reset.window_start(now);
            if self.window_start < start {
                self.window_start = start;
                self.window_usage = 0;
            }
        }
    }
}

impl Books {
    /// Whether account `id` is in the books.
    pub fn has_account(&self, id: &str) -> bool {
        self.lock().accounts.contains_key(id)
    }

    /// Enters `account` as read from the database, unless it already is in the books.
    pub fn load_account(&self, account: Account) {
        let mut state = self.lock();
        let mut account = account;
        account.reserved = 0;
        state.accounts.entry(account.id.clone()).or_insert(account);
    }

    /// Holds `amount` against `key`'s limit in its current window and its account's credits,
    /// both or neither. The account must be in the books (else: [`Refusal::Credits`]).
    pub fn reserve(
        &self,
        key: &KeyRecord,
        amount: Nanos,
        now: i64,
    ) -> Result<Reservation, Refusal> {
        let mut state = self.lock();
        let State { keys, accounts } = &mut *state;
        let balance = keys
            .entry(key.id.clone())
            .or_insert_with(|| KeyBalance::of(key));
        if balance.disabled || balance.expires_at.is_some_and(|expiry| now >= expiry) {
            return Err(Refusal::KeyUnusable);
        }
        balance.roll_window(now);
        let key_room = balance.limit.is_none_or(|limit| {
            balance
                .window_usage
                .checked_add(balance.reserved)
                .and_then(|held| held.checked_add(amount))
                .is_some_and(|total| total <= limit)
        });
        if !key_room {
            return Err(Refusal::KeyLimit);
        }
        let account = accounts.get_mut(&key.account_id).ok_or(Refusal::Credits)?;
        let left = account
            .credits
            .saturating_sub(account.usage)
            .saturating_sub(account.reserved);
        if left < amount {
            return Err(Refusal::Credits);
        }
        account.reserved = account.reserved.saturating_add(amount);
        balance.reserved = balance.reserved.saturating_add(amount);
        Ok(Reservation {
            id: format!("hold-{}", self.holds.fetch_add(1, Ordering::Relaxed)),
            key_id: key.id.clone(),
            account_id: key.account_id.clone(),
            amount,
        })
    }

    /// Releases `reservation` without charging.
    pub fn release(&self, reservation: &Reservation) {
        self.settle(reservation, 0, i64::MIN);
    }

    /// Releases `reservation` and charges `cost` (at most the hold) in the key's window at
    /// `now`. Returns the start of that window (0 without a reset), for the durable log.
    pub fn settle(&self, reservation: &Reservation, cost: Nanos, now: i64) -> i64 {
        let mut state = self.lock();
        let mut window_start = 0;
        if let Some(key) = state.keys.get_mut(&reservation.key_id) {
            key.reserved = key.reserved.saturating_sub(reservation.amount).max(0);
            if cost != 0 {
                key.roll_window(now);
                key.usage = key.usage.saturating_add(cost);
                key.window_usage = key.window_usage.saturating_add(cost);
            }
            window_start = key.window_start;
        }
        if let Some(account) = state.accounts.get_mut(&reservation.account_id) {
            account.reserved = account.reserved.saturating_sub(reservation.amount).max(0);
            account.usage = account.usage.saturating_add(cost);
        }
        window_start
    }

    /// Takes `key`'s settings as just stored. Its spending in the window is recounted when
    /// its reset changed (a new window): the stored count plus what was charged here and is not yet stored
    /// (an over-estimate at worst, never an under-estimate).
    pub fn key_updated(&self, key: &KeyRecord) {
        let mut state = self.lock();
        let Some(balance) = state.keys.get_mut(&key.id) else {
            return;
        };
        if balance.limit_reset != key.limit_reset {
            let unstored = balance.usage.saturating_sub(key.usage).max(0);
            balance.window_start = key.window_start;
            balance.window_usage = key.window_usage.saturating_add(unstored);
        }
        balance.limit = key.limit;
        balance.limit_reset = key.limit_reset;
        balance.disabled = key.disabled;
        balance.expires_at = key.expires_at;
    }

    /// Forgets key `id` (deleted).
    pub fn key_deleted(&self, id: &str) {
        self.lock().keys.remove(id);
    }

    /// Adds `amount` to account `id`'s credits, if it is in the books.
    pub fn credits_added(&self, id: &str, amount: Nanos) {
        if let Some(account) = self.lock().accounts.get_mut(id) {
            account.credits = account.credits.saturating_add(amount);
        }
    }

    /// What key `id` holds now.
    pub fn key_reserved(&self, id: &str) -> Nanos {
        self.lock().keys.get(id).map_or(0, |key| key.reserved)
    }

    /// What account `id` holds now.
    pub fn account_reserved(&self, id: &str) -> Nanos {
        self.lock()
            .accounts
            .get(id)
            .map_or(0, |account| account.reserved)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Key `k` of account `a`, with a daily `limit`.
    pub(crate) fn key(limit: Option<Nanos>) -> KeyRecord {
        KeyRecord {
            id: "k".to_owned(),
            account_id: "a".to_owned(),
            label: String::new(),
            limit,
            limit_reset: Some(LimitReset::Daily),
            expires_at: None,
            disabled: false,
            requests_per_minute: None,
            tokens_per_minute: None,
            routing_policy: None,
            usage: 0,
            window_usage: 0,
            window_start: 0,
            reserved: 0,
            created_at: 0,
        }
    }

    fn account(credits: Nanos) -> Account {
        Account {
            id: "a".to_owned(),
            credits,
            usage: 0,
            reserved: 0,
        }
    }

    #[test]
    fn holds_bound_by_the_key_limit_and_the_credits() {
        let books = Books::default();
        let key = key(Some(100));
        assert_eq!(books.reserve(&key, 1, 10), Err(Refusal::Credits));
        books.load_account(account(150));
        let first = books.reserve(&key, 60, 10).expect("fits");
        assert_eq!(books.reserve(&key, 41, 10), Err(Refusal::KeyLimit));
        books.settle(&first, 40, 10);
        // 40 spent: 60 more fit exactly.
        let second = books.reserve(&key, 60, 10).expect("fits");
        assert_eq!(books.reserve(&key, 1, 10), Err(Refusal::KeyLimit));
        books.release(&second);
        // The next day the window starts over; the credits (150 − 40) still bound.
        let day = 86_400;
        assert_eq!(
            books.reserve(&key, 100, day),
            Ok(Reservation {
                id: "hold-2".to_owned(),
                key_id: "k".to_owned(),
                account_id: "a".to_owned(),
                amount: 100,
            })
        );
        assert_eq!(books.reserve(&key, 11, day), Err(Refusal::KeyLimit));
        assert_eq!(books.key_reserved("k"), 100);
        assert_eq!(books.account_reserved("a"), 100);
    }

    #[test]
    fn disabled_keys_hold_nothing_and_updates_take_effect() {
        let books = Books::default();
        books.load_account(account(1_000));
        let mut record = key(None);
        books.release(&books.reserve(&record, 10, 0).expect("fits"));
        record.disabled = true;
        books.key_updated(&record);
        assert_eq!(books.reserve(&record, 10, 0), Err(Refusal::KeyUnusable));
    }
}
