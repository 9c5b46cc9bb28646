//! The balances of the embedded SQLite database, kept in memory by the one gateway that owns
//! the file: holds are taken and released here without touching the disk, and a settlement
//! moves its charge from held to spent here at once; the database is the durable log of
//! settlements (written by the [`super::settler`]) that the books are loaded from at start.
//! Holds are never written: a crash loses them, which releases them.
//!
//! Keys enter the books on their first hold (from the key record just read), accounts and
//! budgets (of teams and accounts) from the database on the first hold of one of their keys;
//! none leaves them, except a deleted key or team.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::batch::BudgetCharge;
use super::budgets::BudgetRecord;
use super::model_budgets;
use super::store::{Account, KeyRecord, Refusal, Reservation, budget_refusal};
use switchyard_domain::money::{LimitReset, Nanos};

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
    budgets: HashMap<String, KeyBalance>,
}

/// A key's (or a budget's) limit settings and spending.
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

    fn of_budget(budget: &BudgetRecord) -> KeyBalance {
        KeyBalance {
            limit: budget.limit,
            limit_reset: budget.limit_reset,
            disabled: false,
            expires_at: None,
            usage: budget.usage,
            window_usage: budget.window_usage,
            window_start: budget.window_start,
            reserved: 0,
        }
    }

    /// Whether `amount` more fits its limit in the window of `now`.
    fn has_room(&mut self, amount: Nanos, now: i64) -> bool {
        self.roll_window(now);
        self.limit.is_none_or(|limit| {
            self.window_usage
                .checked_add(self.reserved)
                .and_then(|held| held.checked_add(amount))
                .is_some_and(|total| total <= limit)
        })
    }

    /// Charges `cost` in the window of `now`, releasing `held`.
    fn charge(&mut self, held: Nanos, cost: Nanos, now: i64) {
        self.reserved = self.reserved.saturating_sub(held).max(0);
        if cost != 0 {
            self.roll_window(now);
            self.usage = self.usage.saturating_add(cost);
            self.window_usage = self.window_usage.saturating_add(cost);
        }
    }

    /// Takes new limit settings; spending in the window is recounted when the reset changed
    /// (a new window): `stored` is the stored count, plus what was charged here and is not
    /// yet stored (`usage - stored_usage`; an over-estimate at worst).
    fn update(
        &mut self,
        limit: Option<Nanos>,
        reset: Option<LimitReset>,
        stored: (Nanos, Nanos, i64),
    ) {
        let (stored_usage, stored_window_usage, stored_window_start) = stored;
        if self.limit_reset != reset {
            let unstored = self.usage.saturating_sub(stored_usage).max(0);
            self.window_start = stored_window_start;
            self.window_usage = stored_window_usage.saturating_add(unstored);
        }
        self.limit = limit;
        self.limit_reset = reset;
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

    /// Whether account `account` and every budget of `budgets` are in the books.
    pub fn has_all(&self, account: &str, budgets: &[String]) -> bool {
        let state = self.lock();
        state.accounts.contains_key(account)
            && budgets.iter().all(|id| state.budgets.contains_key(id))
    }

    /// Enters `account` as read from the database, unless it already is in the books.
    pub fn load_account(&self, account: Account) {
        let mut state = self.lock();
        let mut account = account;
        account.reserved = 0;
        state.accounts.entry(account.id.clone()).or_insert(account);
    }

    /// Whether budget `id` is in the books.
    pub fn has_budget(&self, id: &str) -> bool {
        self.lock().budgets.contains_key(id)
    }

    /// Enters `budget` as read from the database, unless it already is in the books.
    pub fn load_budget(&self, budget: &BudgetRecord) {
        let mut state = self.lock();
        state
            .budgets
            .entry(budget.id.clone())
            .or_insert_with(|| KeyBalance::of_budget(budget));
    }

    /// Takes `budget`'s settings as just stored.
    pub fn budget_updated(&self, budget: &BudgetRecord) {
        if let Some(balance) = self.lock().budgets.get_mut(&budget.id) {
            let stored = (budget.usage, budget.window_usage, budget.window_start);
            balance.update(budget.limit, budget.limit_reset, stored);
        }
    }

    /// Forgets budget `id` (its team was removed).
    pub fn budget_deleted(&self, id: &str) {
        self.lock().budgets.remove(id);
    }

    /// What budget `id` holds now.
    pub fn budget_reserved(&self, id: &str) -> Nanos {
        self.lock()
            .budgets
            .get(id)
            .map_or(0, |budget| budget.reserved)
    }

    /// Budget `id`'s spending in its current window and when that began, as the books count it.
    pub fn budget_window_usage(&self, id: &str) -> Option<(Nanos, i64)> {
        let state = self.lock();
        let budget = state.budgets.get(id)?;
        Some((budget.window_usage, budget.window_start))
    }

    /// Holds `amount` against `key`'s limit in its current window, `budgets` (its team's and
    /// account's, its end user's, its model budgets) and its account's credits, all or none.
    /// The account must be in the books (else: [`Refusal::Credits`]); budgets not in the books
    /// are not held against.
    pub fn reserve(
        &self,
        key: &KeyRecord,
        amount: Nanos,
        budgets_held: &std::sync::Arc<[String]>,
        now: i64,
    ) -> Result<Reservation, Refusal> {
        let mut state = self.lock();
        let State {
            keys,
            accounts,
            budgets,
        } = &mut *state;
        if !keys.contains_key(&key.id) {
            keys.insert(key.id.clone(), KeyBalance::of(key));
        }
        let balance = keys.get_mut(&key.id).ok_or(Refusal::KeyUnusable)?;
        if balance.disabled || balance.expires_at.is_some_and(|expiry| now >= expiry) {
            return Err(Refusal::KeyUnusable);
        }
        if !balance.has_room(amount, now) {
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
        for id in budgets_held.iter() {
            if let Some(budget) = budgets.get_mut(id)
                && !budget.has_room(amount, now)
            {
                return Err(budget_refusal(id));
            }
        }
        for id in budgets_held.iter() {
            if let Some(budget) = budgets.get_mut(id) {
                budget.reserved = budget.reserved.saturating_add(amount);
            }
        }
        account.reserved = account.reserved.saturating_add(amount);
        balance.reserved = balance.reserved.saturating_add(amount);
        Ok(Reservation {
            id: format!("hold-{}", self.holds.fetch_add(1, Ordering::Relaxed)),
            key_id: key.id.clone(),
            account_id: key.account_id.clone(),
            amount,
            budgets: budgets_held.clone(),
        })
    }

    /// Releases `reservation` without charging.
    pub fn release(&self, reservation: &Reservation) {
        self.settle(reservation, 0, i64::MIN, "");
    }

    /// Releases `reservation` and charges `cost` (at most the hold) of a generation of `model`
    /// in the key's and the budgets' windows at `now` (model budgets not covering `model` are
    /// released only). Returns the start of the key's window (0 without a reset) and the
    /// budgets charged with theirs, for the durable log.
    pub fn settle(
        &self,
        reservation: &Reservation,
        cost: Nanos,
        now: i64,
        model: &str,
    ) -> (i64, Vec<BudgetCharge>) {
        let mut state = self.lock();
        let mut window_start = 0;
        if let Some(key) = state.keys.get_mut(&reservation.key_id) {
            key.charge(reservation.amount, cost, now);
            window_start = key.window_start;
        }
        let mut charged = Vec::with_capacity(reservation.budgets.len());
        for id in reservation.budgets.iter() {
            if let Some(budget) = state.budgets.get_mut(id) {
                if !model_budgets::charges(id, model) {
                    budget.charge(reservation.amount, 0, now);
                    continue;
                }
                budget.charge(reservation.amount, cost, now);
                charged.push(BudgetCharge {
                    id: id.clone(),
                    window_start: Some(budget.window_start),
                    charged: true,
                });
            }
        }
        if let Some(account) = state.accounts.get_mut(&reservation.account_id) {
            account.reserved = account.reserved.saturating_sub(reservation.amount).max(0);
            account.usage = account.usage.saturating_add(cost);
        }
        (window_start, charged)
    }

    /// Takes `key`'s settings as just stored. Its spending in the window is recounted when
    /// its reset changed (a new window): the stored count plus what was charged here and is not yet stored
    /// (an over-estimate at worst, never an under-estimate).
    pub fn key_updated(&self, key: &KeyRecord) {
        let mut state = self.lock();
        let Some(balance) = state.keys.get_mut(&key.id) else {
            return;
        };
        let stored = (key.usage, key.window_usage, key.window_start);
        balance.update(key.limit, key.limit_reset, stored);
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
            team_id: None,
            policy: Default::default(),
            scope: Default::default(),
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
        let none = Default::default();
        assert_eq!(books.reserve(&key, 1, &none, 10), Err(Refusal::Credits));
        books.load_account(account(150));
        let first = books.reserve(&key, 60, &none, 10).expect("fits");
        assert_eq!(books.reserve(&key, 41, &none, 10), Err(Refusal::KeyLimit));
        books.settle(&first, 40, 10, "m");
        // 40 spent: 60 more fit exactly.
        let second = books.reserve(&key, 60, &none, 10).expect("fits");
        assert_eq!(books.reserve(&key, 1, &none, 10), Err(Refusal::KeyLimit));
        books.release(&second);
        // The next day the window starts over; the credits (150 − 40) still bound.
        let day = 86_400;
        assert_eq!(
            books.reserve(&key, 100, &none, day),
            Ok(Reservation {
                id: "hold-2".to_owned(),
                key_id: "k".to_owned(),
                account_id: "a".to_owned(),
                amount: 100,
                budgets: Default::default(),
            })
        );
        assert_eq!(books.reserve(&key, 11, &none, day), Err(Refusal::KeyLimit));
        assert_eq!(books.key_reserved("k"), 100);
        assert_eq!(books.account_reserved("a"), 100);
    }

    #[test]
    fn disabled_keys_hold_nothing_and_updates_take_effect() {
        let books = Books::default();
        books.load_account(account(1_000));
        let mut record = key(None);
        let none = Default::default();
        books.release(&books.reserve(&record, 10, &none, 0).expect("fits"));
        record.disabled = true;
        books.key_updated(&record);
        assert_eq!(
            books.reserve(&record, 10, &none, 0),
            Err(Refusal::KeyUnusable)
        );
    }
}
