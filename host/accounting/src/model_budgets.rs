//! Budgets a key or a team sets on models (`{"openai/gpt-5*": {"limit": 50, "limit_reset":
//! "monthly"}}`: at most $50 a month on every GPT-5 model). Each is a budget row of its own,
//! `model:key:<key id>:<glob>` or `model:team:<team id>:<glob>`, kept like a team's budget. A hold
//! is taken against those whose glob matches a model the request may be served by, in the same
//! transaction (or lock of the books) as every other level's; the settlement charges those
//! matching the model that served and only releases the others.

use std::collections::BTreeMap;

use sqlx::Row;

use super::budgets::{BudgetRecord, parse_id, range_end, set_budget};
use super::policy::glob_matches;
use switchyard_domain::money::{LimitReset, Nanos};
use switchyard_domain::policy_refusal::Level;
use switchyard_domain::store_error::StoreError;

/// A level's budgets on models, by model id or glob.
pub type ModelBudgets = BTreeMap<String, BudgetRecord>;

/// A level's budgets on models as set through the admin API, by model id or glob.
pub type Settings = BTreeMap<String, BudgetSetting>;

/// One budget on models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSetting {
    /// Most it may spend per window (in all, without a reset), nano-USD.
    pub limit: Nanos,
    /// When it starts over.
    pub limit_reset: Option<LimitReset>,
}

/// A budget on models, as a hold needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelBudget {
    /// Its budget row.
    pub id: String,
    /// The model id or glob it covers.
    pub pattern: String,
}

impl ModelBudget {
    /// The budget on models of budget row `record`, if it is one.
    pub fn of(record: &BudgetRecord) -> Option<ModelBudget> {
        let (_, _, pattern) = parse_id(&record.id)?;
        Some(ModelBudget {
            id: record.id.clone(),
            pattern: pattern.to_owned(),
        })
    }

    /// Whether it covers `model`.
    pub fn covers(&self, model: &str) -> bool {
        glob_matches(&self.pattern, model)
    }
}

/// Whether a settlement of a generation of `model` charges budget row `id`: every row but the
/// model budgets that do not cover `model` (those only release their hold).
pub fn charges(id: &str, model: &str) -> bool {
    parse_id(id).is_none_or(|(_, _, pattern)| glob_matches(pattern, model))
}

/// The first part of the budget rows of `level` (key or team) `owner`'s model budgets.
pub fn prefix(level: Level, owner: &str) -> String {
    format!("{}{owner}:", level_prefix(level))
}

/// The first part of the budget rows of every model budget of `level` (key or team).
pub fn level_prefix(level: Level) -> &'static str {
    match level {
        Level::Team => "model:team:",
        _ => "model:key:",
    }
}

/// Makes `level` `owner`'s model budgets `settings`: new ones count what the owner already
/// spent on their models (in their window), changed ones keep their spending, absent ones go.
pub async fn replace(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    level: Level,
    owner: &str,
    settings: &Settings,
) -> Result<(), StoreError> {
    let prefix = prefix(level, owner);
    let rows = sqlx::query("SELECT id FROM budgets WHERE id >= $1 AND id < $2")
        .bind(&prefix)
        .bind(range_end(&prefix))
        .fetch_all(&mut **tx)
        .await?;
    for row in rows {
        let id: String = row.try_get("id")?;
        let kept = parse_id(&id).is_some_and(|(_, _, pattern)| settings.contains_key(pattern));
        if !kept {
            // Holds still in flight release into a missing row: nothing happens.
            sqlx::query("DELETE FROM budgets WHERE id = $1")
                .bind(&id)
                .execute(&mut **tx)
                .await?;
        }
    }
    for (pattern, setting) in settings {
        let id = format!("{prefix}{pattern}");
        let change = (Some(Some(setting.limit)), Some(setting.limit_reset));
        set_budget(tx, &id, change, true).await?;
    }
    Ok(())
}

impl super::Accounting {
    /// `level` `owner`'s model budgets, with their stored spending and this gateway's holds
    /// (the caller waits for the settlements first when it needs them: a listing of keys
    /// waits once, not once per key).
    pub async fn model_budgets(
        &self,
        level: Level,
        owner: &str,
    ) -> Result<ModelBudgets, StoreError> {
        let mut budgets = self.store.model_budgets(&prefix(level, owner)).await?;
        for budget in budgets.values_mut() {
            self.show_holds_of_budget(Some(budget));
        }
        Ok(budgets)
    }

    /// The model budgets of every owner of `level` (a listing of keys or teams), by owner, as
    /// [`Self::model_budgets`] shows them: one query for all.
    pub async fn model_budgets_of_level(
        &self,
        level: Level,
    ) -> Result<BTreeMap<String, ModelBudgets>, StoreError> {
        let mut owners = self.store.model_budgets_of_level(level).await?;
        for budget in owners.values_mut().flat_map(BTreeMap::values_mut) {
            self.show_holds_of_budget(Some(budget));
        }
        Ok(owners)
    }

    /// `level` `owner`'s model budgets just changed: they reach the books.
    pub async fn model_budgets_changed(&self, level: Level, owner: &str) -> Result<(), StoreError> {
        for budget in self
            .store
            .model_budgets(&prefix(level, owner))
            .await?
            .values()
        {
            self.budget_changed(Some(budget));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budgets::like;

    #[test]
    fn ids_round_trip_and_globs_become_like_patterns() {
        let id = format!("{}openai/gpt-5*", prefix(Level::Key, "key_1"));
        assert_eq!(parse_id(&id), Some(("key_id", "key_1", "openai/gpt-5*")));
        let team = format!("{}anthropic/*", prefix(Level::Team, "t"));
        assert_eq!(parse_id(&team), Some(("team_id", "t", "anthropic/*")));
        assert_eq!(parse_id("team:t"), None);
        assert_eq!(like("openai/gpt_5*"), "openai/gpt!_5%");
        assert_eq!(range_end("model:key:k:"), "model:key:k;");
        assert!(range_end("model:key:k:").as_str() > id.replace("key_1", "k").as_str());
        let level = level_prefix(Level::Key);
        assert!(id.starts_with(level) && id.as_str() < range_end(level).as_str());
        assert!(!team.starts_with(level));
    }
}
