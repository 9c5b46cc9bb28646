//! The admin API of an organisation's structure: teams within an account (create, list, read,
//! update, remove), and the rules, rate limits and budget of an account
//! (`PATCH /admin/accounts/{id}`). The rule fields (`allowed_models`, `allowed_providers`,
//! `denied_providers`, `max_price`, `data_policy`) are the same on accounts, teams and keys
//! ([`RuleFields`]); teams and keys take budgets on models (`model_budgets`), accounts what each
//! of their end users may spend and send (`end_users`).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin_body::{json_body, non_negative_usd, present};
use super::admin_lookup::{enabled, no_such};
use super::audit::{Change, record};
use super::error::ApiError;
use super::roles::{Access, Caller};
use super::route::Route;
use switchyard_accounting::budgets::BudgetRecord;
use switchyard_accounting::end_users::EndUserUpdate;
use switchyard_accounting::keys::random_id;
use switchyard_accounting::model_budgets::{self, BudgetSetting, ModelBudgets};
use switchyard_accounting::policy::{DataRules, Policy, check_model_pattern};
use switchyard_accounting::scope::{EndUserRules, LevelRules};
use switchyard_accounting::storage_error;
use switchyard_accounting::teams::{AccountRules, MoveKeys, RulesUpdate, TeamRecord, TeamRemoval};
use switchyard_domain::money::{LimitReset, usd_json};
use switchyard_routing::preferences::MaxPrice;

/// The team routes, under `/admin` (`PATCH /admin/accounts/{id}` is routed with the account's
/// other methods, in [`super::admin_keys`]).
pub fn routes() -> Vec<Route> {
    vec![
        Route::at("/admin/teams")
            .get(list)
            .post(create)
            .admin(Access::Billing),
        Route::at("/admin/teams/{id}")
            .get(read)
            .patch(update)
            .delete(remove)
            .admin(Access::Billing),
    ]
}

/// The rule fields of a body; a field present replaces that rule (`null` removes it).
#[derive(Debug, Default)]
pub struct RuleFields {
    /// Only these model ids or `*` globs.
    pub allowed_models: Option<Option<Vec<String>>>,
    /// Only these providers.
    pub allowed_providers: Option<Option<Vec<String>>>,
    /// Never these providers.
    pub denied_providers: Option<Option<Vec<String>>>,
    /// Highest acceptable prices.
    pub max_price: Option<Option<MaxPrice>>,
    /// What providers may do with prompts.
    pub data_policy: Option<Option<DataRules>>,
}

impl RuleFields {
    /// `policy` with these fields applied, checked against the catalog (400 when a model
    /// pattern matches no model); `None` when no field is present.
    pub fn applied_to(self, policy: &Policy, state: &AppState) -> Result<Option<Policy>, ApiError> {
        if self.allowed_models.is_none()
            && self.allowed_providers.is_none()
            && self.denied_providers.is_none()
            && self.max_price.is_none()
            && self.data_policy.is_none()
        {
            return Ok(None);
        }
        let policy = Policy {
            allowed_models: self
                .allowed_models
                .unwrap_or_else(|| policy.allowed_models.clone()),
            allowed_providers: (self.allowed_providers)
                .unwrap_or_else(|| policy.allowed_providers.clone()),
            denied_providers: (self.denied_providers)
                .unwrap_or_else(|| policy.denied_providers.clone()),
            max_price: self.max_price.unwrap_or_else(|| policy.max_price.clone()),
            data_policy: self.data_policy.unwrap_or(policy.data_policy),
        };
        policy
            .validate(&state.gateway.catalog)
            .map_err(ApiError::invalid_request)?;
        Ok(Some(policy))
    }
}

/// Body of `POST /admin/teams`, `PATCH /admin/teams/{id}` and `PATCH /admin/accounts/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// Team id (creation only; generated when absent).
    #[serde(default)]
    id: Option<String>,
    /// The team's account (creation only).
    #[serde(default)]
    account: Option<String>,
    /// A name for people (teams only).
    #[serde(default)]
    name: Option<String>,
    /// Budget, USD.
    #[serde(default, deserialize_with = "present")]
    limit: Option<Option<Value>>,
    /// `daily`, `weekly` or `monthly`.
    #[serde(default, deserialize_with = "present")]
    limit_reset: Option<Option<LimitReset>>,
    /// Requests per minute of all its keys.
    #[serde(default, deserialize_with = "present")]
    requests_per_minute: Option<Option<u32>>,
    /// Tokens per minute of all its keys.
    #[serde(default, deserialize_with = "present")]
    tokens_per_minute: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    allowed_models: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    allowed_providers: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    denied_providers: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    max_price: Option<Option<MaxPrice>>,
    #[serde(default, deserialize_with = "present")]
    data_policy: Option<Option<DataRules>>,
    /// Budgets on models (teams only): replaced whole, `null` removes them.
    #[serde(default, deserialize_with = "present")]
    model_budgets: Option<Option<ModelBudgetsBody>>,
    /// What each end user may spend and send (accounts only).
    #[serde(default)]
    end_users: Option<EndUsersBody>,
}

/// `model_budgets`: by model id or `*` glob, a USD limit and its reset.
pub type ModelBudgetsBody = std::collections::BTreeMap<String, ModelBudgetBody>;

/// One budget on models.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelBudgetBody {
    /// USD, as a number or a decimal string.
    limit: Value,
    /// `daily`, `weekly` or `monthly`; none: in all.
    #[serde(default)]
    limit_reset: Option<LimitReset>,
}

/// `model_budgets` of a body checked against the catalog (400 for a glob that names no model).
pub fn model_budget_settings(
    body: Option<ModelBudgetsBody>,
    state: &AppState,
) -> Result<model_budgets::Settings, ApiError> {
    let mut settings = model_budgets::Settings::new();
    for (pattern, budget) in body.unwrap_or_default() {
        check_model_pattern("model_budgets", &pattern, &state.gateway.catalog)
            .map_err(ApiError::invalid_request)?;
        let setting = BudgetSetting {
            limit: non_negative_usd(&budget.limit)?,
            limit_reset: budget.limit_reset,
        };
        settings.insert(pattern, setting);
    }
    Ok(settings)
}

/// `model_budgets` as JSON: by glob, the limit, its reset, what is left, spent and held.
pub fn model_budgets_json(budgets: &ModelBudgets) -> Value {
    let fields: serde_json::Map<String, Value> = budgets
        .iter()
        .map(|(pattern, budget)| {
            let mut fields = serde_json::Map::new();
            budget_json(Some(budget), &mut fields);
            (pattern.clone(), Value::Object(fields))
        })
        .collect();
    Value::Object(fields)
}

/// `end_users` of `PATCH /admin/accounts/{id}`; a field present replaces that setting
/// (`null` removes it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndUsersBody {
    /// Distinct end user ids the account may have (`null`: the default, 100,000).
    #[serde(default, deserialize_with = "present")]
    max: Option<Option<u32>>,
    /// Each end user's budget, USD.
    #[serde(default, deserialize_with = "present")]
    limit: Option<Option<Value>>,
    /// When each end user's budget starts over.
    #[serde(default, deserialize_with = "present")]
    limit_reset: Option<Option<LimitReset>>,
    /// Each end user's requests per minute.
    #[serde(default, deserialize_with = "present")]
    requests_per_minute: Option<Option<u32>>,
    /// Each end user's tokens per minute.
    #[serde(default, deserialize_with = "present")]
    tokens_per_minute: Option<Option<u32>>,
}

impl EndUsersBody {
    fn update(self) -> Result<EndUserUpdate, ApiError> {
        Ok(EndUserUpdate {
            max_end_users: self.max.map(|max| max.map(i64::from)),
            limit: optional_usd(self.limit)?,
            limit_reset: self.limit_reset,
            requests_per_minute: self.requests_per_minute.map(|l| l.map(i64::from)),
            tokens_per_minute: self.tokens_per_minute.map(|l| l.map(i64::from)),
        })
    }
}

/// A limit field that may be absent, `null` or an amount.
fn optional_usd(limit: Option<Option<Value>>) -> Result<Option<Option<i64>>, ApiError> {
    Ok(match limit {
        Some(Some(value)) => Some(Some(non_negative_usd(&value)?)),
        Some(None) => Some(None),
        None => None,
    })
}

/// An account's end user rules and count as JSON.
pub fn end_users_json(rules: &EndUserRules, count: i64) -> Value {
    json!({
        "count": count,
        "max": rules.max_end_users,
        "limit": rules.limit.map(usd_json),
        "limit_reset": rules.limit_reset.map(LimitReset::as_str),
        "requests_per_minute": rules.requests_per_minute,
        "tokens_per_minute": rules.tokens_per_minute,
    })
}

impl RulesBody {
    /// The update it asks of rules `current`.
    fn update(self, current: &Policy, state: &AppState) -> Result<RulesUpdate, ApiError> {
        if self.end_users.is_some() {
            return Err(ApiError::invalid_request(
                "end_users: end user settings are an account's (PATCH /admin/accounts/{id})",
            ));
        }
        let rules = RuleFields {
            allowed_models: self.allowed_models,
            allowed_providers: self.allowed_providers,
            denied_providers: self.denied_providers,
            max_price: self.max_price,
            data_policy: self.data_policy,
        };
        let limit = optional_usd(self.limit)?;
        let model_budgets = self
            .model_budgets
            .map(|budgets| model_budget_settings(budgets, state))
            .transpose()?;
        Ok(RulesUpdate {
            model_budgets,
            name: self.name,
            policy: rules.applied_to(current, state)?,
            requests_per_minute: self.requests_per_minute.map(|l| l.map(i64::from)),
            tokens_per_minute: self.tokens_per_minute.map(|l| l.map(i64::from)),
            limit,
            limit_reset: self.limit_reset,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamFilter {
    #[serde(default)]
    account: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveTeam {
    /// Another team of the same account, or `none`: out of any team.
    #[serde(default)]
    move_keys_to: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Body,
) -> Result<Response, ApiError> {
    let accounting = enabled(&state)?;
    let mut body: RulesBody = json_body(&state, body).await?;
    let id = body.id.take().unwrap_or_else(|| random_id("team"));
    if id.is_empty() || id.contains([':', ',']) {
        return Err(ApiError::invalid_request(
            "id: a team id cannot be empty nor hold `:` or `,`",
        ));
    }
    let account = body
        .account
        .take()
        .unwrap_or_else(|| caller.default_account());
    caller.check_account(&account)?;
    if accounting.team(&id).await.map_err(storage_error)?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            format!("team {id:?} exists already"),
        )
        .with_code("conflict"));
    }
    let update = body.update(&Policy::default(), &state)?;
    let team = accounting
        .create_team(&id, &account, &update)
        .await
        .map_err(storage_error)?;
    let data = team_json(&team);
    audit_team(
        &state,
        &caller,
        "team.create",
        &team,
        Value::Null,
        data.clone(),
    )
    .await;
    Ok((StatusCode::CREATED, Json(json!({ "data": data }))).into_response())
}

/// Records a change of team `team`.
async fn audit_team(
    state: &AppState,
    caller: &Caller,
    action: &str,
    team: &TeamRecord,
    before: Value,
    after: Value,
) {
    let change = Change {
        action,
        target: &team.id,
        account: Some(&team.account_id),
        before,
        after,
    };
    record(state, caller, change).await;
}

/// Team `id`, when the caller sees its account (404 otherwise, as if it did not exist).
async fn visible_team(
    accounting: &switchyard_accounting::Accounting,
    caller: &Caller,
    id: &str,
) -> Result<TeamRecord, ApiError> {
    accounting
        .team(id)
        .await
        .map_err(storage_error)?
        .filter(|team| caller.sees(&team.account_id))
        .ok_or_else(|| no_such("team", id))
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(filter): Query<TeamFilter>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    if let Some(account) = &filter.account {
        caller.check_account(account)?;
    }
    let teams = accounting
        .teams(filter.account.as_deref().or(caller.account.as_deref()))
        .await
        .map_err(storage_error)?;
    Ok(Json(
        json!({ "data": teams.iter().map(team_json).collect::<Vec<_>>() }),
    ))
}

async fn read(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let team = visible_team(&accounting, &caller, &id).await?;
    Ok(Json(json!({ "data": team_json(&team) })))
}

async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let body: RulesBody = json_body(&state, body).await?;
    if body.id.is_some() || body.account.is_some() {
        return Err(ApiError::invalid_request(
            "a team's id and account cannot change",
        ));
    }
    let current = visible_team(&accounting, &caller, &id).await?;
    let update = body.update(&current.rules.policy, &state)?;
    let team = accounting
        .update_team(&id, &update)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| no_such("team", &id))?;
    let after = team_json(&team);
    audit_team(
        &state,
        &caller,
        "team.update",
        &team,
        team_json(&current),
        after.clone(),
    )
    .await;
    Ok(Json(json!({ "data": after })))
}

async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Query<RemoveTeam>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let current = visible_team(&accounting, &caller, &id).await?;
    let keys = match query.move_keys_to.as_deref() {
        None => MoveKeys::Refuse,
        Some("none") => MoveKeys::ToNoTeam,
        Some(team) => MoveKeys::To(team.to_owned()),
    };
    match accounting
        .delete_team(&id, &keys)
        .await
        .map_err(storage_error)?
    {
        TeamRemoval::Removed(moved) => {
            let mut before = team_json(&current);
            if let Some(fields) = before.as_object_mut() {
                fields.insert("keys_moved_to".into(), json!(query.move_keys_to));
            }
            audit_team(&state, &caller, "team.delete", &current, before, Value::Null).await;
            Ok(Json(json!({ "deleted": id, "keys_moved": moved })))
        }
        TeamRemoval::NotFound => Err(no_such("team", &id)),
        TeamRemoval::HasKeys(count) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            format!(
                "team {id:?} has {count} keys: remove it with ?move_keys_to=<another team of its account> or ?move_keys_to=none"
            ),
        )
        .with_code("team_has_keys")),
        TeamRemoval::ForeignTeam => Err(ApiError::invalid_request(format!(
            "move_keys_to: {:?} is not another team of the account of team {id:?}",
            query.move_keys_to.unwrap_or_default()
        ))
        .with_code("foreign_team")),
    }
}

/// `PATCH /admin/accounts/{id}`: the account's rules, rate limits and budget (the account is
/// created when missing).
pub async fn update_account(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    caller.check_account(&id)?;
    let mut body: RulesBody = json_body(&state, body).await?;
    if body.id.is_some()
        || body.account.is_some()
        || body.name.is_some()
        || body.model_budgets.is_some()
    {
        return Err(ApiError::invalid_request(
            "an account takes rules, rate limits, a budget and end user settings only",
        ));
    }
    let end_users = body
        .end_users
        .take()
        .map(EndUsersBody::update)
        .transpose()?;
    let before = accounting.account_rules(&id).await.map_err(storage_error)?;
    let current = before
        .as_ref()
        .map(|account| account.rules.policy.clone())
        .unwrap_or_default();
    let update = body.update(&current, &state)?;
    let account = accounting
        .update_account_rules(&id, &update)
        .await
        .map_err(storage_error)?;
    if let Some(end_users) = end_users.filter(|update| !update.is_empty()) {
        accounting
            .update_end_user_rules(&id, &end_users)
            .await
            .map_err(storage_error)?;
    }
    let mut after = account_rules_json(&account);
    let (rules, count) = accounting
        .end_user_rules(&id)
        .await
        .map_err(storage_error)?;
    if let Some(fields) = after.as_object_mut() {
        fields.insert("end_users".into(), end_users_json(&rules, count));
    }
    let change = Change {
        action: "account.update",
        target: &id,
        account: Some(&id),
        before: before.as_ref().map_or(Value::Null, account_rules_json),
        after: after.clone(),
    };
    record(&state, &caller, change).await;
    Ok(Json(json!({ "data": after })))
}

/// A level's rules and rate limits as JSON fields.
pub fn rules_json(rules: &LevelRules) -> serde_json::Map<String, Value> {
    let mut fields = rules.policy.to_json();
    fields.insert(
        "requests_per_minute".into(),
        json!(rules.requests_per_minute),
    );
    fields.insert("tokens_per_minute".into(), json!(rules.tokens_per_minute));
    fields
}

/// A budget as JSON fields (`limit` `null` without one).
fn budget_json(budget: Option<&BudgetRecord>, fields: &mut serde_json::Map<String, Value>) {
    fields.insert(
        "limit".into(),
        json!(budget.and_then(|b| b.limit).map(usd_json)),
    );
    fields.insert(
        "limit_reset".into(),
        json!(budget.and_then(|b| b.limit_reset).map(LimitReset::as_str)),
    );
    let now = switchyard_domain::money::now();
    fields.insert(
        "limit_remaining".into(),
        json!(budget.and_then(|b| b.room(now)).map(usd_json)),
    );
    fields.insert("usage".into(), usd_json(budget.map_or(0, |b| b.usage)));
    fields.insert(
        "reserved".into(),
        usd_json(budget.map_or(0, |b| b.reserved)),
    );
}

fn team_json(team: &TeamRecord) -> Value {
    let mut fields = rules_json(&team.rules);
    fields.insert("id".into(), json!(team.id));
    fields.insert("account".into(), json!(team.account_id));
    fields.insert("name".into(), json!(team.name));
    fields.insert("created_at".into(), json!(team.created_at));
    fields.insert(
        "model_budgets".into(),
        model_budgets_json(&team.model_budgets),
    );
    budget_json(team.budget.as_ref(), &mut fields);
    Value::Object(fields)
}

/// An account's rules, rate limits and budget as JSON.
pub fn account_rules_json(account: &AccountRules) -> Value {
    let mut fields = rules_json(&account.rules);
    fields.insert("id".into(), json!(account.rules.id));
    let mut budget = serde_json::Map::new();
    budget_json(account.budget.as_ref(), &mut budget);
    fields.insert("budget".into(), Value::Object(budget));
    Value::Object(fields)
}
