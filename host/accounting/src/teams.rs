//! Teams within an account, and what an account and a team impose on their keys: rules
//! ([`Policy`]), rate limits and a USD budget with a reset period. A budget is a row of its own
//! (`team:<id>`, `account:<id>`) kept like a key's limit — a window of spending and the holds in
//! flight — and every hold of a key is taken against its team's and account's budgets too, in
//! the same transaction (or the same lock of the books) as against the key and the credits.

use sqlx::any::AnyRow;
use sqlx::{Connection, Row};

use super::budgets::{
    BUDGET_COLUMNS, BudgetRecord, account_budget, budget_record, range_end, set_budget, team_budget,
};
use super::holds::Ledger;
use super::model_budgets::{self, ModelBudget, ModelBudgets};
use super::policy::Policy;
use super::scope::{LevelRules, Scope, stored_policy};
use super::store::{KeyRecord, Store};
use switchyard_domain::money::{LimitReset, Nanos, now};
use switchyard_domain::policy_refusal::Level;
use switchyard_domain::store_error::StoreError;

/// Team `id` of row `row` (of [`TEAM_COLUMNS`]), with its `budget` and `model_budgets`.
fn team_of(
    row: &AnyRow,
    id: String,
    budget: Option<BudgetRecord>,
    model_budgets: ModelBudgets,
) -> Result<TeamRecord, StoreError> {
    Ok(TeamRecord {
        budget,
        model_budgets,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        rules: level_rules(row, id.clone())?,
        id,
    })
}

/// A team as stored, with its budget.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamRecord {
    /// Team id.
    pub id: String,
    /// Its account.
    pub account_id: String,
    /// A name for people.
    pub name: String,
    /// Its rules and rate limits (`rules.id` is the team id).
    pub rules: LevelRules,
    /// Its budget.
    pub budget: Option<BudgetRecord>,
    /// Its budgets on models, by model id or glob.
    pub model_budgets: ModelBudgets,
    /// Unix seconds.
    pub created_at: i64,
}

/// An account's rules, rate limits and budget.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRules {
    /// Its rules and rate limits (`rules.id` is the account id).
    pub rules: LevelRules,
    /// Its budget, if it has one.
    pub budget: Option<BudgetRecord>,
}

/// Changes to a team's or an account's settings; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct RulesUpdate {
    /// New name (teams only).
    pub name: Option<String>,
    /// New rules (replacing the old ones).
    pub policy: Option<Policy>,
    /// New requests per minute (`Some(None)` removes the limit).
    pub requests_per_minute: Option<Option<i64>>,
    /// New tokens per minute (`Some(None)` removes the limit).
    pub tokens_per_minute: Option<Option<i64>>,
    /// New budget limit, nano-USD (`Some(None)` removes it).
    pub limit: Option<Option<Nanos>>,
    /// New reset (`Some(None)` removes it).
    pub limit_reset: Option<Option<LimitReset>>,
    /// New budgets on models (teams only), replacing the old ones.
    pub model_budgets: Option<model_budgets::Settings>,
}

/// Where the keys of a team go when it is removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveKeys {
    /// Nowhere: a team with keys is not removed.
    Refuse,
    /// Out of any team.
    ToNoTeam,
    /// Into this team (of the same account).
    To(String),
}

/// What removing a team did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamRemoval {
    /// Removed; this many keys moved.
    Removed(u64),
    /// No such team.
    NotFound,
    /// It has this many keys and was not asked to move them.
    HasKeys(u64),
    /// The team to move them to is not of the same account.
    ForeignTeam,
}

const TEAM_COLUMNS: &str = "SELECT id, account_id, name, policy, requests_per_minute,
    tokens_per_minute, created_at FROM teams";

fn level_rules(row: &AnyRow, id: String) -> Result<LevelRules, StoreError> {
    Ok(LevelRules {
        id,
        policy: stored_policy(row.try_get("policy")?)?,
        requests_per_minute: row.try_get("requests_per_minute")?,
        tokens_per_minute: row.try_get("tokens_per_minute")?,
    })
}

impl Store {
    /// What `key`'s team and account impose on it.
    pub async fn scope(&self, key: &KeyRecord) -> Result<Scope, StoreError> {
        let mut budgets = Vec::new();
        let account = match self.account_rules(&key.account_id).await? {
            Some(account) => {
                budgets.extend(account.budget.map(|budget| budget.id));
                account.rules
            }
            None => LevelRules::default(),
        };
        let team = match &key.team_id {
            Some(id) => {
                let team = self.team(id).await?.ok_or(StoreError::NotFound("team"))?;
                budgets.extend(team.budget.map(|budget| budget.id));
                Some(team.rules)
            }
            None => None,
        };
        budgets.sort();
        let mut owners = vec![model_budgets::prefix(Level::Key, &key.id)];
        owners
            .extend((key.team_id.as_deref()).map(|team| model_budgets::prefix(Level::Team, team)));
        let mut models = Vec::new();
        for owner in &owners {
            let budgets = self.model_budgets(owner).await?;
            models.extend(budgets.values().filter_map(ModelBudget::of));
        }
        let mut with_models = budgets.clone();
        with_models.extend(models.iter().map(|budget| budget.id.clone()));
        with_models.sort();
        with_models.dedup();
        Ok(Scope {
            account,
            team,
            budgets: budgets.into(),
            model_budgets: models.into(),
            budgets_with_models: with_models.into(),
            end_users: self.end_user_rules(&key.account_id).await?,
        })
    }

    /// The budget row `id`.
    pub async fn budget(&self, id: &str) -> Result<Option<BudgetRecord>, StoreError> {
        let row = sqlx::query(&format!("{BUDGET_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(budget_record).transpose()
    }

    /// Creates team `id` of `account_id` (created when missing) with `settings`.
    pub async fn create_team(
        &self,
        id: &str,
        account_id: &str,
        settings: &RulesUpdate,
    ) -> Result<TeamRecord, StoreError> {
        let created = now();
        let mut connection = self.full_connection().await?;
        let mut tx = connection.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(account_id)
        .bind(created)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO teams (id, account_id, name, policy, requests_per_minute,
             tokens_per_minute, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(account_id)
        .bind(settings.name.clone().unwrap_or_default())
        .bind(settings.policy.as_ref().and_then(Policy::stored))
        .bind(settings.requests_per_minute.flatten())
        .bind(settings.tokens_per_minute.flatten())
        .bind(created)
        .execute(&mut *tx)
        .await?;
        set_budget(
            &mut tx,
            &team_budget(id),
            (settings.limit, settings.limit_reset),
            true,
        )
        .await?;
        if let Some(models) = &settings.model_budgets {
            model_budgets::replace(&mut tx, Level::Team, id, models).await?;
        }
        tx.commit().await?;
        drop(connection);
        self.team(id).await?.ok_or(StoreError::NotFound("team"))
    }

    /// Every team (of `account_id` only, when given), oldest first.
    pub async fn teams(&self, account_id: Option<&str>) -> Result<Vec<TeamRecord>, StoreError> {
        let rows = match account_id {
            Some(account) => {
                sqlx::query(&format!(
                    "{TEAM_COLUMNS} WHERE account_id = $1 ORDER BY created_at, id"
                ))
                .bind(account)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(&format!("{TEAM_COLUMNS} ORDER BY created_at, id"))
                    .fetch_all(self.pool())
                    .await?
            }
        };
        // Every team's budgets in two range scans, not two queries per team.
        let prefix = team_budget("");
        let budget_rows = sqlx::query(&format!("{BUDGET_COLUMNS} WHERE id >= $1 AND id < $2"))
            .bind(&prefix)
            .bind(range_end(&prefix))
            .fetch_all(self.pool())
            .await?;
        let mut budgets = std::collections::HashMap::with_capacity(budget_rows.len());
        for row in &budget_rows {
            let budget = budget_record(row)?;
            budgets.insert(budget.id.clone(), budget);
        }
        let mut models = self.model_budgets_of_level(Level::Team).await?;

        let mut teams = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id")?;
            let budget = budgets.remove(&team_budget(&id));
            let model_budgets = models.remove(&id).unwrap_or_default();
            teams.push(team_of(row, id, budget, model_budgets)?);
        }
        Ok(teams)
    }

    /// Team `id`.
    pub async fn team(&self, id: &str) -> Result<Option<TeamRecord>, StoreError> {
        let row = sqlx::query(&format!("{TEAM_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(row) => Ok(Some(self.team_record(&row).await?)),
            None => Ok(None),
        }
    }

    async fn team_record(&self, row: &AnyRow) -> Result<TeamRecord, StoreError> {
        let id: String = row.try_get("id")?;
        let budget = self.budget(&team_budget(&id)).await?;
        let model_budgets = self
            .model_budgets(&model_budgets::prefix(Level::Team, &id))
            .await?;
        team_of(row, id, budget, model_budgets)
    }

    /// Applies `update` to team `id`.
    pub async fn update_team(
        &self,
        id: &str,
        update: &RulesUpdate,
    ) -> Result<Option<TeamRecord>, StoreError> {
        let Some(team) = self.team(id).await? else {
            return Ok(None);
        };
        let mut connection = self.full_connection().await?;
        let mut tx = connection.begin().await?;
        let rules = updated_rules(&team.rules, update);
        sqlx::query(
            "UPDATE teams SET name = $2, policy = $3, requests_per_minute = $4,
             tokens_per_minute = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(update.name.as_ref().unwrap_or(&team.name))
        .bind(rules.policy.stored())
        .bind(rules.requests_per_minute)
        .bind(rules.tokens_per_minute)
        .execute(&mut *tx)
        .await?;
        set_budget(
            &mut tx,
            &team_budget(id),
            (update.limit, update.limit_reset),
            true,
        )
        .await?;
        if let Some(models) = &update.model_budgets {
            model_budgets::replace(&mut tx, Level::Team, id, models).await?;
        }
        tx.commit().await?;
        drop(connection);
        self.team(id).await
    }

    /// Removes team `id`, moving its keys as `keys` says.
    pub async fn delete_team(&self, id: &str, keys: &MoveKeys) -> Result<TeamRemoval, StoreError> {
        let Some(team) = self.team(id).await? else {
            return Ok(TeamRemoval::NotFound);
        };
        let target = match keys {
            MoveKeys::To(target) => {
                match self.team(target).await? {
                    Some(other) if other.account_id == team.account_id && other.id != id => {}
                    _ => return Ok(TeamRemoval::ForeignTeam),
                }
                Some(target.as_str())
            }
            MoveKeys::Refuse | MoveKeys::ToNoTeam => None,
        };
        let mut connection = self.full_connection().await?;
        let mut tx = connection.begin().await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) AS keys FROM api_keys WHERE team_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("keys")?;
        let count = u64::try_from(count).unwrap_or_default();
        if count > 0 && *keys == MoveKeys::Refuse {
            tx.rollback().await?;
            return Ok(TeamRemoval::HasKeys(count));
        }
        sqlx::query("UPDATE api_keys SET team_id = $2 WHERE team_id = $1")
            .bind(id)
            .bind(target)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM teams WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // Holds still in flight release into a missing row: nothing happens.
        sqlx::query("DELETE FROM budgets WHERE id = $1")
            .bind(team_budget(id))
            .execute(&mut *tx)
            .await?;
        model_budgets::replace(&mut tx, Level::Team, id, &model_budgets::Settings::new()).await?;
        tx.commit().await?;
        Ok(TeamRemoval::Removed(count))
    }

    /// The ids of the keys of team `id`.
    pub async fn team_keys(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT id FROM api_keys WHERE team_id = $1")
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| row.try_get("id").map_err(StoreError::from))
            .collect()
    }

    /// Account `id`'s rules, rate limits and budget; `None` when it does not exist.
    pub async fn account_rules(&self, id: &str) -> Result<Option<AccountRules>, StoreError> {
        let row = sqlx::query(
            "SELECT policy, requests_per_minute, tokens_per_minute FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(AccountRules {
            rules: level_rules(&row, id.to_owned())?,
            budget: self.budget(&account_budget(id)).await?,
        }))
    }

    /// Applies `update` to account `id` (created when missing).
    pub async fn update_account_rules(
        &self,
        id: &str,
        update: &RulesUpdate,
    ) -> Result<AccountRules, StoreError> {
        let current = self.account_rules(id).await?;
        let mut connection = self.full_connection().await?;
        let mut tx = connection.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        let old = current.map(|account| account.rules).unwrap_or_default();
        let rules = updated_rules(&old, update);
        sqlx::query(
            "UPDATE accounts SET policy = $2, requests_per_minute = $3, tokens_per_minute = $4
             WHERE id = $1",
        )
        .bind(id)
        .bind(rules.policy.stored())
        .bind(rules.requests_per_minute)
        .bind(rules.tokens_per_minute)
        .execute(&mut *tx)
        .await?;
        set_budget(
            &mut tx,
            &account_budget(id),
            (update.limit, update.limit_reset),
            false,
        )
        .await?;
        tx.commit().await?;
        drop(connection);
        self.account_rules(id)
            .await?
            .ok_or(StoreError::NotFound("account"))
    }
}

/// `rules` with `update` applied.
fn updated_rules(rules: &LevelRules, update: &RulesUpdate) -> LevelRules {
    LevelRules {
        id: rules.id.clone(),
        policy: update
            .policy
            .clone()
            .unwrap_or_else(|| rules.policy.clone()),
        requests_per_minute: update
            .requests_per_minute
            .unwrap_or(rules.requests_per_minute),
        tokens_per_minute: update.tokens_per_minute.unwrap_or(rules.tokens_per_minute),
    }
}

impl super::Accounting {
    /// Creates team `id` of `account_id` with `settings`.
    pub async fn create_team(
        &self,
        id: &str,
        account_id: &str,
        settings: &RulesUpdate,
    ) -> Result<TeamRecord, StoreError> {
        self.store.create_team(id, account_id, settings).await
    }

    /// Every team (of `account_id` only, when given), with its settled spending and holds.
    pub async fn teams(&self, account_id: Option<&str>) -> Result<Vec<TeamRecord>, StoreError> {
        self.settled().await?;
        let mut teams = self.store.teams(account_id).await?;
        for team in &mut teams {
            self.show_holds_of_team(team);
        }
        Ok(teams)
    }

    /// Team `id`, with its settled spending and holds.
    pub async fn team(&self, id: &str) -> Result<Option<TeamRecord>, StoreError> {
        self.settled().await?;
        let mut team = self.store.team(id).await?;
        if let Some(team) = &mut team {
            self.show_holds_of_team(team);
        }
        Ok(team)
    }

    /// Holds of the team's budgets kept in memory, shown in `team`.
    fn show_holds_of_team(&self, team: &mut TeamRecord) {
        self.show_holds_of_budget(team.budget.as_mut());
        for budget in team.model_budgets.values_mut() {
            self.show_holds_of_budget(Some(budget));
        }
    }

    /// Applies `update` to team `id`; its keys' next requests see it.
    pub async fn update_team(
        &self,
        id: &str,
        update: &RulesUpdate,
    ) -> Result<Option<TeamRecord>, StoreError> {
        let mut team = self.store.update_team(id, update).await?;
        if let Some(team) = &mut team {
            self.budget_changed(team.budget.as_ref());
            for budget in team.model_budgets.values() {
                self.budget_changed(Some(budget));
            }
            self.show_holds_of_team(team);
        }
        self.key_cache.clear();
        Ok(team)
    }

    /// Removes team `id`, moving its keys as `keys` says.
    pub async fn delete_team(&self, id: &str, keys: &MoveKeys) -> Result<TeamRemoval, StoreError> {
        let moved = self.store.team_keys(id).await?;
        let removal = self.store.delete_team(id, keys).await?;
        if let TeamRemoval::Removed(_) = removal {
            self.key_cache.clear();
            match &self.ledger {
                Ledger::Books(books) => books.budget_deleted(&team_budget(id)),
                Ledger::Leases(leases) => {
                    for key in moved {
                        leases.forget(&key).await;
                    }
                }
            }
        }
        Ok(removal)
    }

    /// Account `id`'s rules, rate limits and budget (with its settled spending and holds).
    pub async fn account_rules(&self, id: &str) -> Result<Option<AccountRules>, StoreError> {
        self.settled().await?;
        let mut account = self.store.account_rules(id).await?;
        if let Some(account) = &mut account {
            self.show_holds_of_budget(account.budget.as_mut());
        }
        Ok(account)
    }

    /// Applies `update` to account `id` (created when missing); its keys' next requests see it.
    pub async fn update_account_rules(
        &self,
        id: &str,
        update: &RulesUpdate,
    ) -> Result<AccountRules, StoreError> {
        let mut account = self.store.update_account_rules(id, update).await?;
        self.budget_changed(account.budget.as_ref());
        self.show_holds_of_budget(account.budget.as_mut());
        self.key_cache.clear();
        Ok(account)
    }

    /// A budget just stored reaches the books.
    pub(crate) fn budget_changed(&self, budget: Option<&BudgetRecord>) {
        if let (Ledger::Books(books), Some(budget)) = (&self.ledger, budget) {
            books.budget_updated(budget);
        }
    }

    /// Holds of the embedded database live in memory, not in the stored row.
    pub(crate) fn show_holds_of_budget(&self, budget: Option<&mut BudgetRecord>) {
        if let (Ledger::Books(books), Some(budget)) = (&self.ledger, budget) {
            budget.reserved = books.budget_reserved(&budget.id);
            if let Some(room) = books.budget_window_usage(&budget.id) {
                budget.window_usage = room.0;
                budget.window_start = room.1;
            }
        }
    }
}
