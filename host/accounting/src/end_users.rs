//! End users: the people or services an account's application serves, named by a request's
//! `X-Switchyard-User` header, else its body (OpenAI's `user`, Anthropic's `metadata.user_id`).
//! An id is at most [`MAX_ID_BYTES`] long, and an account has at most `max_end_users` of them
//! (default [`DEFAULT_MAX_END_USERS`]): the first request naming a new id beyond that is refused.
//!
//! An account may give each end user a USD budget with a reset and rate limits. The budget is a
//! budget row of its own per end user (`user:<account hash>:<id hash>`, created when the budget
//! is set or the end user first seen) held against with every other level's, so it keeps the
//! same no-overspend guarantee; the rate limits are buckets like a key's.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use sqlx::any::AnyRow;
use sqlx::{Connection, Row};

use super::budgets::{BUDGET_COLUMNS, BudgetRecord, budget_record, range_end};
use super::keys::hash_secret;
use super::scope::{DEFAULT_MAX_END_USERS, EndUserRules};
use super::store::Store;
use switchyard_domain::money::{LimitReset, Nanos, now};
use switchyard_domain::store_error::StoreError;

/// The longest end user id, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// Changes to an account's end user rules; `None` leaves one as it is, `Some(None)` removes it.
#[derive(Debug, Clone, Default)]
pub struct EndUserUpdate {
    /// New cap (`Some(None)`: the default).
    pub max_end_users: Option<Option<i64>>,
    /// New budget of each end user, nano-USD.
    pub limit: Option<Option<Nanos>>,
    /// New reset of each end user's budget.
    pub limit_reset: Option<Option<LimitReset>>,
    /// New requests per minute of each end user.
    pub requests_per_minute: Option<Option<i64>>,
    /// New tokens per minute of each end user.
    pub tokens_per_minute: Option<Option<i64>>,
}

impl EndUserUpdate {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.max_end_users.is_none()
            && self.limit.is_none()
            && self.limit_reset.is_none()
            && self.requests_per_minute.is_none()
            && self.tokens_per_minute.is_none()
    }
}

/// The end user a request names, within its key's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndUser {
    /// Its id.
    pub id: String,
    /// Its budget row, when the account gives end users a budget.
    pub budget: Option<String>,
    /// Its rate limit bucket, when the account gives end users rate limits.
    pub bucket: Option<String>,
}

/// What registering an end user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Known already, or registered now.
    Known,
    /// New, and the account has as many end users as it may.
    CapReached,
}

/// The first part of the budget rows of account `account`'s end users.
fn budget_prefix(account: &str) -> String {
    format!("user:{}:", &hash_secret(account)[..24])
}

/// The budget row of end user `user` of account `account`.
pub fn end_user_budget(account: &str, user: &str) -> String {
    format!("{}{}", budget_prefix(account), &hash_secret(user)[..32])
}

/// The end user ids every gateway has registered already, by account: they are never
/// registered again.
#[derive(Debug, Default)]
pub struct KnownEndUsers {
    known: Mutex<HashMap<String, HashSet<String>>>,
}

impl KnownEndUsers {
    /// Whether `user` of `account` is known.
    pub fn contains(&self, account: &str, user: &str) -> bool {
        self.lock()
            .get(account)
            .is_some_and(|users| users.contains(user))
    }

    /// Remembers `user` of `account`.
    pub fn insert(&self, account: &str, user: &str) {
        self.lock()
            .entry(account.to_owned())
            .or_default()
            .insert(user.to_owned());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<String>>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

const RULE_COLUMNS: &str = "SELECT end_users, max_end_users, end_user_limit,
    end_user_limit_reset, end_user_requests_per_minute, end_user_tokens_per_minute
    FROM accounts WHERE id = $1";

fn rules(row: &AnyRow) -> Result<EndUserRules, StoreError> {
    let reset: Option<String> = row.try_get("end_user_limit_reset")?;
    Ok(EndUserRules {
        max_end_users: row
            .try_get::<Option<i64>, _>("max_end_users")?
            .unwrap_or(DEFAULT_MAX_END_USERS),
        limit: row.try_get("end_user_limit")?,
        limit_reset: reset
            .map(|text| LimitReset::parse(&text).ok_or(StoreError::Corrupt("limit reset")))
            .transpose()?,
        requests_per_minute: row.try_get("end_user_requests_per_minute")?,
        tokens_per_minute: row.try_get("end_user_tokens_per_minute")?,
    })
}

impl Store {
    /// What account `id` sets for its end users (the defaults when it does not exist).
    pub async fn end_user_rules(&self, id: &str) -> Result<EndUserRules, StoreError> {
        let row = sqlx::query(RULE_COLUMNS)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map_or(Ok(EndUserRules::default()), rules)
    }

    /// How many end users account `id` has.
    pub async fn end_user_count(&self, id: &str) -> Result<i64, StoreError> {
        let row = sqlx::query(RULE_COLUMNS)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => row.try_get("end_users")?,
            None => 0,
        })
    }

    /// Registers end user `user` of account `account`, within `rules.max_end_users`: the count
    /// is raised in the account's row, so that gateways sharing the database never pass the
    /// cap together. Its budget row is made when the account gives end users a budget.
    pub async fn register_end_user(
        &self,
        account: &str,
        user: &str,
        rules: &EndUserRules,
    ) -> Result<Registration, StoreError> {
        let created = now();
        let budget = end_user_budget(account, user);
        let mut connection = self.full_connection().await?;
        let mut tx = connection.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO end_users (account_id, id, budget_id, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id, id) DO NOTHING",
        )
        .bind(account)
        .bind(user)
        .bind(&budget)
        .bind(created)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.commit().await?;
            return Ok(Registration::Known);
        }
        let counted = sqlx::query(
            "UPDATE accounts SET end_users = end_users + 1 WHERE id = $1 AND end_users < $2",
        )
        .bind(account)
        .bind(rules.max_end_users)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if counted == 0 {
            tx.rollback().await?;
            return Ok(Registration::CapReached);
        }
        if rules.limit.is_some() {
            sqlx::query(
                "INSERT INTO budgets (id, usd_limit, limit_reset, window_start, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&budget)
            .bind(rules.limit)
            .bind(rules.limit_reset.map(LimitReset::as_str))
            .bind(
                rules
                    .limit_reset
                    .map_or(0, |reset| reset.window_start(created)),
            )
            .bind(created)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Registration::Known)
    }

    /// Applies `update` to account `id`'s end user rules (the account is created when
    /// missing) and to the budget rows of its end users: a new budget or reset counts what
    /// each spent in its window already.
    pub async fn update_end_user_rules(
        &self,
        id: &str,
        update: &EndUserUpdate,
    ) -> Result<EndUserRules, StoreError> {
        let current = self.end_user_rules(id).await?;
        let created = now();
        let mut connection = self.full_connection().await?;
        let mut tx = connection.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(created)
        .execute(&mut *tx)
        .await?;
        let max = match update.max_end_users {
            Some(max) => max,
            None => {
                (current.max_end_users != DEFAULT_MAX_END_USERS).then_some(current.max_end_users)
            }
        };
        let rules = EndUserRules {
            max_end_users: max.unwrap_or(DEFAULT_MAX_END_USERS),
            limit: update.limit.unwrap_or(current.limit),
            limit_reset: update.limit_reset.unwrap_or(current.limit_reset),
            requests_per_minute: update
                .requests_per_minute
                .unwrap_or(current.requests_per_minute),
            tokens_per_minute: update
                .tokens_per_minute
                .unwrap_or(current.tokens_per_minute),
        };
        sqlx::query(
            "UPDATE accounts SET max_end_users = $2, end_user_limit = $3,
             end_user_limit_reset = $4, end_user_requests_per_minute = $5,
             end_user_tokens_per_minute = $6 WHERE id = $1",
        )
        .bind(id)
        .bind(max)
        .bind(rules.limit)
        .bind(rules.limit_reset.map(LimitReset::as_str))
        .bind(rules.requests_per_minute)
        .bind(rules.tokens_per_minute)
        .execute(&mut *tx)
        .await?;
        if update.limit.is_some() || update.limit_reset.is_some() {
            let prefix = budget_prefix(id);
            // Every end user has a budget row from now on.
            sqlx::query(
                "INSERT INTO budgets (id, created_at)
                 SELECT budget_id, $2 FROM end_users WHERE account_id = $1
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(created)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE budgets SET usd_limit = $3 WHERE id >= $1 AND id < $2")
                .bind(&prefix)
                .bind(range_end(&prefix))
                .bind(rules.limit)
                .execute(&mut *tx)
                .await?;
            if update.limit_reset.is_some() && rules.limit_reset != current.limit_reset
                || update.limit.is_some() && current.limit.is_none()
            {
                let window_start = rules.limit_reset.map_or(0, |r| r.window_start(created));
                sqlx::query(
                    "UPDATE budgets SET limit_reset = $3, window_start = $4,
                     window_usage = (SELECT CAST(COALESCE(SUM(g.cost), 0) AS BIGINT)
                         FROM generations g JOIN end_users u
                         ON u.account_id = g.account_id AND u.id = g.end_user
                         WHERE u.budget_id = budgets.id AND g.created_at >= $4)
                     WHERE id >= $1 AND id < $2",
                )
                .bind(&prefix)
                .bind(range_end(&prefix))
                .bind(rules.limit_reset.map(LimitReset::as_str))
                .bind(window_start)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(rules)
    }

    /// The budget rows of account `id`'s end users.
    pub async fn end_user_budgets(&self, id: &str) -> Result<Vec<BudgetRecord>, StoreError> {
        let prefix = budget_prefix(id);
        let rows = sqlx::query(&format!("{BUDGET_COLUMNS} WHERE id >= $1 AND id < $2"))
            .bind(&prefix)
            .bind(range_end(&prefix))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(budget_record).collect()
    }
}

impl super::Accounting {
    /// Account `id`'s end user rules and how many end users it has.
    pub async fn end_user_rules(&self, id: &str) -> Result<(EndUserRules, i64), StoreError> {
        Ok((
            self.store.end_user_rules(id).await?,
            self.store.end_user_count(id).await?,
        ))
    }

    /// Applies `update` to account `id`'s end user rules; its keys' next requests see them.
    pub async fn update_end_user_rules(
        &self,
        id: &str,
        update: &EndUserUpdate,
    ) -> Result<EndUserRules, StoreError> {
        let rules = self.store.update_end_user_rules(id, update).await?;
        for budget in self.store.end_user_budgets(id).await? {
            self.budget_changed(Some(&budget));
        }
        self.key_cache.clear();
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_user_budget_rows_fall_in_their_account_range() {
        let row = end_user_budget("acme", "alice,bob:1");
        let prefix = budget_prefix("acme");
        assert!(row.starts_with(&prefix) && row.as_str() < range_end(&prefix).as_str());
        assert!(
            !row.contains(','),
            "reservations list budget rows with commas"
        );
        assert_ne!(row, end_user_budget("acme", "alice"));
        assert!(!row.starts_with(&budget_prefix("acm")));
    }
}
