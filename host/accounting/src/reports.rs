//! Usage listings: the generation records of an account, a team, a key or an end user, newest
//! first, and their totals.

use sqlx::Row;

use super::store::{GenerationRecord, Store};
use switchyard_domain::money::Nanos;
use switchyard_domain::store_error::StoreError;

/// Which generations a listing covers; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageFilter {
    /// Of this account.
    pub account: Option<String>,
    /// Of this key.
    pub key: Option<String>,
    /// Of this team.
    pub team: Option<String>,
    /// Of this end user.
    pub user: Option<String>,
    /// Made at or after this unix second.
    pub since: Option<i64>,
}

/// What the generations of a listing add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    /// How many.
    pub requests: i64,
    /// Charged, nano-USD.
    pub cost: Nanos,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
}

impl UsageFilter {
    /// The `WHERE` clause and its text parameters (`since` is the last, when given).
    fn clause(&self) -> (String, Vec<&str>) {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        let fields = [
            ("account_id", &self.account),
            ("key_id", &self.key),
            ("team_id", &self.team),
            ("end_user", &self.user),
        ];
        for (column, value) in fields {
            if let Some(value) = value {
                values.push(value.as_str());
                conditions.push(format!("{column} = ${}", values.len()));
            }
        }
        if self.since.is_some() {
            conditions.push(format!("created_at >= ${}", values.len() + 1));
        }
        let clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        (clause, values)
    }
}

impl Store {
    /// The `limit` newest generations `filter` covers.
    pub async fn generations(
        &self,
        filter: &UsageFilter,
        limit: i64,
    ) -> Result<Vec<GenerationRecord>, StoreError> {
        let (clause, values) = filter.clause();
        let sql = format!(
            "SELECT * FROM generations{clause} ORDER BY created_at DESC, id DESC LIMIT {}",
            limit.max(0)
        );
        let mut query = sqlx::query(&sql);
        for value in values {
            query = query.bind(value);
        }
        if let Some(since) = filter.since {
            query = query.bind(since);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(super::store::generation_record).collect()
    }

    /// What the generations `filter` covers add up to.
    pub async fn usage_totals(&self, filter: &UsageFilter) -> Result<UsageTotals, StoreError> {
        let (clause, values) = filter.clause();
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS requests,
             CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS cost,
             CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) AS prompt_tokens,
             CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT) AS completion_tokens
             FROM generations{clause}"
        );
        let mut query = sqlx::query(&sql);
        for value in values {
            query = query.bind(value);
        }
        if let Some(since) = filter.since {
            query = query.bind(since);
        }
        let row = query.fetch_one(self.pool()).await?;
        Ok(UsageTotals {
            requests: row.try_get("requests")?,
            cost: row.try_get("cost")?,
            prompt_tokens: row.try_get("prompt_tokens")?,
            completion_tokens: row.try_get("completion_tokens")?,
        })
    }
}

impl super::Accounting {
    /// The `limit` newest settled generations `filter` covers, and the totals of all it covers.
    pub async fn usage(
        &self,
        filter: &UsageFilter,
        limit: i64,
    ) -> Result<(Vec<GenerationRecord>, UsageTotals), StoreError> {
        self.settled().await?;
        Ok((
            self.store.generations(filter, limit).await?,
            self.store.usage_totals(filter).await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_numbers_its_parameters_in_order() {
        let filter = UsageFilter {
            account: Some("acme".into()),
            user: Some("alice".into()),
            since: Some(5),
            ..UsageFilter::default()
        };
        let (clause, values) = filter.clause();
        assert_eq!(
            clause,
            " WHERE account_id = $1 AND end_user = $2 AND created_at >= $3"
        );
        assert_eq!(values, ["acme", "alice"]);
        assert_eq!(UsageFilter::default().clause().0, "");
    }
}
