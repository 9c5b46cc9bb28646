//! The audit log: one entry per change made through the admin API — who (token id, `env` or
//! `sso:<subject>`), what (an action and its target), the organisation it concerns, the state
//! before and after (secrets already redacted by the caller), and when. Entries older than the
//! retention are removed as new ones are written.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::keys::random_id;
use super::store::Store;
use switchyard_domain::store_error::StoreError;

/// One entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Entry id: ids sort in the order entries were written.
    pub id: String,
    /// Unix seconds.
    pub at: i64,
    /// Who: an admin token id, `env` (the bootstrap token) or `sso:<subject>`.
    pub actor: String,
    /// What, e.g. `key.create`.
    pub action: String,
    /// The id of what changed.
    pub target: String,
    /// The account it concerns, when one.
    pub account: Option<String>,
    /// The state before (`null` for a creation).
    pub before: Value,
    /// The state after (`null` for a removal).
    pub after: Value,
}

/// Which entries to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this actor's.
    pub actor: Option<String>,
    /// Only this action's, or those whose action starts with it and a dot (`key` for
    /// `key.create`, `key.update`…).
    pub action: Option<String>,
    /// Only those about this target.
    pub target: Option<String>,
    /// Only those about this account.
    pub account: Option<String>,
    /// Only those written at or after this unix second.
    pub since: Option<i64>,
    /// Only those older than this entry id (the next page).
    pub before: Option<String>,
    /// At most this many.
    pub limit: u32,
}

fn entry(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let json = |column: &str| -> Result<Value, StoreError> {
        let text: Option<String> = row.try_get(column)?;
        text.map_or(Ok(Value::Null), |text| {
            serde_json::from_str(&text).map_err(|_| StoreError::Corrupt("audit entry"))
        })
    };
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        account: row.try_get("account_id")?,
        before: json("before_state")?,
        after: json("after_state")?,
    })
}

/// An id that sorts after every id written earlier (microseconds since 1970, then randomness
/// so that two gateways never collide).
fn entry_id() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros());
    format!("{micros:020}{}", random_id(""))
}

fn stored(value: &Value) -> Option<String> {
    (!value.is_null()).then(|| value.to_string())
}

impl Store {
    /// Writes `entry` (its id is made here), and removes the entries written before
    /// `expired_before` (unix seconds), when given.
    pub async fn record_audit(
        &self,
        entry: &AuditEntry,
        expired_before: Option<i64>,
    ) -> Result<String, StoreError> {
        let id = entry_id();
        let mut connection = self.full_connection().await?;
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor, action, target, account_id, before_state,
             after_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(entry.account.as_deref())
        .bind(stored(&entry.before))
        .bind(stored(&entry.after))
        .execute(&mut *connection)
        .await?;
        if let Some(before) = expired_before {
            sqlx::query("DELETE FROM audit_log WHERE at < $1")
                .bind(before)
                .execute(&mut *connection)
                .await?;
        }
        Ok(id)
    }

    /// The entries `query` asks for, newest first.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let mut condition = |sql: &str, values: &[&str]| {
            let mut sql = sql.to_owned();
            for value in values {
                binds.push((*value).to_owned());
                sql = sql.replacen('?', &format!("${}", binds.len()), 1);
            }
            conditions.push(sql);
        };
        if let Some(actor) = &query.actor {
            condition("actor = ?", &[actor]);
        }
        if let Some(action) = &query.action {
            condition(
                "(action = ? OR action LIKE ?)",
                &[action, &format!("{action}.%")],
            );
        }
        if let Some(target) = &query.target {
            condition("target = ?", &[target]);
        }
        if let Some(account) = &query.account {
            condition("account_id = ?", &[account]);
        }
        if let Some(before) = &query.before {
            condition("id < ?", &[before]);
        }
        let mut sql = String::from(
            "SELECT id, at, actor, action, target, account_id, before_state, after_state
             FROM audit_log",
        );
        let since_param = binds.len() + 1;
        if query.since.is_some() {
            conditions.push(format!("at >= ${since_param}"));
        }
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", query.limit));
        let mut statement = sqlx::query(&sql);
        for value in &binds {
            statement = statement.bind(value);
        }
        if let Some(since) = query.since {
            statement = statement.bind(since);
        }
        let rows = statement.fetch_all(self.pool()).await?;
        rows.iter().map(entry).collect()
    }
}
