//! Budget rows: the spending windows of teams, accounts, end users and budgets on models, each
//! a row of `budgets` kept like a key's limit. Their ids (`team:<id>`, `account:<id>`,
//! `user:…`, `model:key:<key id>:<glob>`, `model:team:<team id>:<glob>`), their records as read,
//! and creating or changing one.

use sqlx::Row;
use sqlx::any::AnyRow;

use switchyard_domain::money::{LimitReset, Nanos, now};
use switchyard_domain::policy_refusal::Level;
use switchyard_domain::store_error::StoreError;

/// The budget row of team `id`.
pub fn team_budget(id: &str) -> String {
    format!("team:{id}")
}

/// The budget row of account `id`.
pub fn account_budget(id: &str) -> String {
    format!("account:{id}")
}

/// The level a budget row belongs to.
pub fn budget_level(id: &str) -> Level {
    if id.starts_with("team:") || id.starts_with("model:team:") {
        Level::Team
    } else if id.starts_with("model:key:") {
        Level::Key
    } else if id.starts_with("user:") {
        Level::EndUser
    } else {
        Level::Account
    }
}

/// A budget as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetRecord {
    /// `team:<id>` or `account:<id>`.
    pub id: String,
    /// Most it may spend per window (or in all, without a reset), nano-USD; `None`: no limit.
    pub limit: Option<Nanos>,
    /// When the limit starts over.
    pub limit_reset: Option<LimitReset>,
    /// Settled spending in all, nano-USD.
    pub usage: Nanos,
    /// Settled spending in the window that began at `window_start`, nano-USD.
    pub window_usage: Nanos,
    /// Unix seconds at which the current window began.
    pub window_start: i64,
    /// Held by requests in flight, nano-USD.
    pub reserved: Nanos,
}

impl BudgetRecord {
    /// The room left at `now` (unix seconds); `None` without a limit.
    pub fn room(&self, now: i64) -> Option<Nanos> {
        let window_usage = match self.limit_reset {
            Some(reset) if self.window_start < reset.window_start(now) => 0,
            _ => self.window_usage,
        };
        self.limit.map(|limit| {
            limit
                .saturating_sub(window_usage)
                .saturating_sub(self.reserved)
        })
    }
}

/// The columns of a budget row.
pub(crate) const BUDGET_COLUMNS: &str = "SELECT id, usd_limit, limit_reset, usage, window_usage,
    window_start, reserved FROM budgets";

/// A budget row read.
pub(crate) fn budget_record(row: &AnyRow) -> Result<BudgetRecord, StoreError> {
    let reset: Option<String> = row.try_get("limit_reset")?;
    Ok(BudgetRecord {
        id: row.try_get("id")?,
        limit: row.try_get("usd_limit")?,
        limit_reset: reset
            .map(|text| LimitReset::parse(&text).ok_or(StoreError::Corrupt("limit reset")))
            .transpose()?,
        usage: row.try_get("usage")?,
        window_usage: row.try_get("window_usage")?,
        window_start: row.try_get("window_start")?,
        reserved: row.try_get("reserved")?,
    })
}

/// The generations column of a model budget row's owner, the owner and the glob.
pub fn parse_id(id: &str) -> Option<(&'static str, &str, &str)> {
    let (column, rest) = if let Some(rest) = id.strip_prefix("model:key:") {
        ("key_id", rest)
    } else {
        ("team_id", id.strip_prefix("model:team:")?)
    };
    let (owner, pattern) = rest.split_once(':')?;
    Some((column, owner, pattern))
}

/// `pattern` (`*` for any run) as a SQL `LIKE` pattern escaped with `!`.
pub fn like(pattern: &str) -> String {
    let mut like = String::with_capacity(pattern.len());
    for character in pattern.chars() {
        match character {
            '!' | '%' | '_' => {
                like.push('!');
                like.push(character);
            }
            '*' => like.push('%'),
            other => like.push(other),
        }
    }
    like
}

/// The row just past every row starting with `prefix` (which ends with `:`), for a range scan.
pub fn range_end(prefix: &str) -> String {
    let mut end = prefix.trim_end_matches(':').to_owned();
    end.push(';');
    end
}

/// The generations a budget row's spending is counted from: a condition on `generations` with
/// parameters from `$4` on, and their values.
fn spent_by(budget: &str) -> (&'static str, Vec<String>) {
    if let Some((column, owner, pattern)) = parse_id(budget) {
        let condition = if column == "team_id" {
            "team_id = $4 AND model LIKE $5 ESCAPE '!'"
        } else {
            "key_id = $4 AND model LIKE $5 ESCAPE '!'"
        };
        return (condition, vec![owner.to_owned(), like(pattern)]);
    }
    if budget.starts_with("user:") {
        let condition = "EXISTS (SELECT 1 FROM end_users u WHERE u.budget_id = $4
            AND u.account_id = generations.account_id AND u.id = generations.end_user)";
        return (condition, vec![budget.to_owned()]);
    }
    match budget.split_once(':') {
        Some(("team", id)) => ("team_id = $4", vec![id.to_owned()]),
        Some((_, id)) => ("account_id = $4", vec![id.to_owned()]),
        None => ("account_id = $4", vec![budget.to_owned()]),
    }
}

/// Creates or changes budget row `id` as `(limit, limit_reset)` say (`None` leaves one as it
/// is; `always`: the row exists even without a limit). A new reset starts its window now,
/// counting what was spent since the window's start; spending is never read and written back.
pub(crate) async fn set_budget(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    (limit, limit_reset): (Option<Option<Nanos>>, Option<Option<LimitReset>>),
    always: bool,
) -> Result<(), StoreError> {
    if !always && limit.is_none() && limit_reset.is_none() {
        return Ok(());
    }
    let created = sqlx::query(
        "INSERT INTO budgets (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(now())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0;
    if let Some(limit) = limit {
        sqlx::query("UPDATE budgets SET usd_limit = $2 WHERE id = $1")
            .bind(id)
            .bind(limit)
            .execute(&mut **tx)
            .await?;
    }
    // A new budget counts what was spent already (in its window), as does a new reset.
    let reset = match limit_reset {
        Some(reset) => reset,
        None if created => None,
        None => return Ok(()),
    };
    let (condition, owners) = spent_by(id);
    let window_start = reset.map_or(0, |reset| reset.window_start(now()));
    let unchanged = if created {
        ""
    } else {
        " AND NOT (limit_reset IS NOT NULL AND $3 IS NOT NULL AND limit_reset = $3)"
    };
    let sql = format!(
        "UPDATE budgets SET limit_reset = $3, window_start = $2,
         window_usage = (SELECT CAST(COALESCE(SUM(cost), 0) AS BIGINT) FROM generations
             WHERE {condition} AND created_at >= $2)
         WHERE id = $1{unchanged}"
    );
    let mut query = sqlx::query(&sql)
        .bind(id)
        .bind(window_start)
        .bind(reset.map(LimitReset::as_str));
    for owner in owners {
        query = query.bind(owner);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}
