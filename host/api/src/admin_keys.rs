//! The admin API of keys and credits (billing tokens change them, see [`super::roles`]):
//! create (the secret is in that answer only), list, update and delete API keys; add credits to
//! accounts. Amounts are USD, as JSON numbers or decimal strings. A token scoped to an account
//! sees and changes that account's keys only.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin_body::{json_body, non_negative_usd, present, usd};
use super::admin_lookup::{enabled, no_such};
use super::admin_teams::{ModelBudgetsBody, RuleFields, model_budget_settings, model_budgets_json};
use super::audit::{Change, record};
use super::error::ApiError;
use super::roles::{Access, Caller};
use super::route::Route;
use super::usage::limit_remaining;
use switchyard_accounting::Accounting;
use switchyard_accounting::keys::{hash_secret, new_secret, random_id};
use switchyard_accounting::model_budgets::ModelBudgets;
use switchyard_accounting::policy::{DataRules, Policy};
use switchyard_accounting::storage_error;
use switchyard_accounting::store::{Account, KeyRecord, KeyUpdate, NewKey};
use switchyard_domain::money::{LimitReset, now, usd_json};
use switchyard_domain::policy_refusal::Level;
use switchyard_routing::preferences::MaxPrice;

/// The key and credit routes, under `/admin`.
pub fn routes() -> Vec<Route> {
    vec![
        Route::at("/admin/keys")
            .get(list)
            .post(create)
            .admin(Access::Billing),
        Route::at("/admin/keys/{id}")
            .patch(update)
            .delete(remove)
            .admin(Access::Billing),
        Route::at("/admin/accounts/{id}")
            .get(account)
            .patch(super::admin_teams::update_account)
            .admin(Access::Billing),
        Route::at("/admin/accounts/{id}/credits")
            .post(add_credits)
            .admin(Access::Billing),
        Route::at("/admin/accounting")
            .get(status)
            .admin(Access::Operations),
        Route::at("/admin/usage")
            .get(super::usage::admin_usage)
            .admin(Access::Billing),
    ]
}

/// Body of `POST /admin/keys`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateKey {
    /// A name for people.
    #[serde(default)]
    pub(crate) label: String,
    /// The account it spends from (created when missing; the caller's scope, or `default`, when
    /// absent).
    #[serde(default)]
    pub(crate) account: Option<String>,
    /// USD limit.
    #[serde(default)]
    pub(crate) limit: Option<Value>,
    /// `daily`, `weekly` or `monthly`.
    #[serde(default)]
    pub(crate) limit_reset: Option<LimitReset>,
    /// Unix seconds.
    #[serde(default)]
    pub(crate) expires_at: Option<i64>,
    /// Rate limit.
    #[serde(default)]
    pub(crate) requests_per_minute: Option<u32>,
    /// Rate limit.
    #[serde(default)]
    pub(crate) tokens_per_minute: Option<u32>,
    /// Routing policy plugin for the key's requests.
    #[serde(default)]
    pub(crate) routing_policy: Option<String>,
    /// Its team (of the same account).
    #[serde(default)]
    pub(crate) team: Option<String>,
    #[serde(default)]
    pub(crate) allowed_models: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) allowed_providers: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) denied_providers: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) max_price: Option<MaxPrice>,
    #[serde(default)]
    pub(crate) data_policy: Option<DataRules>,
    /// Budgets on models, by model id or `*` glob.
    #[serde(default)]
    pub(crate) model_budgets: Option<ModelBudgetsBody>,
}

/// Body of `PATCH /admin/keys/{id}`; `null` removes a limit, reset or expiry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateKey {
    #[serde(default)]
    pub(crate) label: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) limit: Option<Option<Value>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) limit_reset: Option<Option<LimitReset>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) expires_at: Option<Option<i64>>,
    #[serde(default)]
    pub(crate) disabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) requests_per_minute: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) tokens_per_minute: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) routing_policy: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) team: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) allowed_models: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) allowed_providers: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) denied_providers: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) max_price: Option<Option<MaxPrice>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) data_policy: Option<Option<DataRules>>,
    /// Replaces the key's budgets on models (`null` removes them).
    #[serde(default, deserialize_with = "present")]
    pub(crate) model_budgets: Option<Option<ModelBudgetsBody>>,
}

/// Body of `POST /admin/accounts/{id}/credits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddCredits {
    /// USD to add (negative to take back).
    amount: Value,
}

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Body,
) -> Result<Response, ApiError> {
    let accounting = enabled(&state)?;
    let mut body: CreateKey = json_body(&state, body).await?;
    let account = body
        .account
        .take()
        .unwrap_or_else(|| caller.default_account());
    caller.check_account(&account)?;
    let created = create_key(&state, &accounting, &caller, account, body).await?;
    let mut data = created.shown;
    if let Some(object) = data.as_object_mut() {
        object.insert("key".to_owned(), Value::String(created.secret));
    }
    Ok((StatusCode::CREATED, Json(json!({ "data": data }))).into_response())
}

/// Records a change of key `key`.
async fn audit_key(
    state: &AppState,
    caller: &Caller,
    action: &str,
    key: &KeyRecord,
    before: Value,
    after: Value,
) {
    let change = Change {
        action,
        target: &key.id,
        account: Some(&key.account_id),
        before,
        after,
    };
    record(state, caller, change).await;
}

/// A key just created (and recorded in the audit log).
pub(crate) struct CreatedKey {
    /// As stored.
    pub(crate) record: KeyRecord,
    /// As the admin API shows it.
    pub(crate) shown: Value,
    /// Its secret, answered this once.
    pub(crate) secret: String,
}

/// Stores the key `body` asks for in `account` and records the change by `caller`; the admin
/// API and the provisioning API both create keys here.
pub(crate) async fn create_key(
    state: &AppState,
    accounting: &Accounting,
    caller: &Caller,
    account: String,
    body: CreateKey,
) -> Result<CreatedKey, ApiError> {
    let (record, secret) = store_key(state, accounting, account, body).await?;
    let shown = key_json(&record, accounting).await?;
    audit_key(
        state,
        caller,
        "key.create",
        &record,
        Value::Null,
        shown.clone(),
    )
    .await;
    Ok(CreatedKey {
        record,
        shown,
        secret,
    })
}

/// Stores the key `body` asks for in `account`; answers it and its secret.
async fn store_key(
    state: &AppState,
    accounting: &Accounting,
    account: String,
    body: CreateKey,
) -> Result<(KeyRecord, String), ApiError> {
    if let Some(policy) = &body.routing_policy {
        known_policy(state, policy)?;
    }
    if let Some(team) = &body.team {
        team_of_account(accounting, team, &account).await?;
    }
    let rules = RuleFields {
        allowed_models: body.allowed_models.map(Some),
        allowed_providers: body.allowed_providers.map(Some),
        denied_providers: body.denied_providers.map(Some),
        max_price: body.max_price.map(Some),
        data_policy: body.data_policy.map(Some),
    };
    let model_budgets = body
        .model_budgets
        .map(|budgets| model_budget_settings(Some(budgets), state))
        .transpose()?;
    let policy = rules
        .applied_to(&Policy::default(), state)?
        .unwrap_or_default();
    let secret = new_secret();
    let key = NewKey {
        account_id: account,
        label: body.label,
        limit: body.limit.as_ref().map(non_negative_usd).transpose()?,
        limit_reset: body.limit_reset,
        expires_at: body.expires_at,
        requests_per_minute: body.requests_per_minute.map(i64::from),
        tokens_per_minute: body.tokens_per_minute.map(i64::from),
        routing_policy: body.routing_policy,
        team_id: body.team,
        policy,
        model_budgets,
    };
    let record = accounting
        .create_key(&random_id("key"), &hash_secret(&secret), &key)
        .await
        .map_err(storage_error)?;
    Ok((record, secret))
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let keys = accounting.keys().await.map_err(storage_error)?;
    let mut budgets = accounting
        .model_budgets_of_level(Level::Key)
        .await
        .map_err(storage_error)?;
    let data: Vec<Value> = (keys.iter())
        .filter(|key| caller.sees(&key.account_id))
        .map(|key| shown_key(key, &budgets.remove(&key.id).unwrap_or_default()))
        .collect();
    Ok(Json(json!({ "data": data })))
}

/// Key `id`, when the caller sees its account (404 otherwise, as if it did not exist).
pub(crate) async fn visible_key(
    accounting: &Accounting,
    caller: &Caller,
    id: &str,
) -> Result<KeyRecord, ApiError> {
    accounting
        .key(id)
        .await
        .map_err(storage_error)?
        .filter(|key| caller.sees(&key.account_id))
        .ok_or_else(|| no_such("key", id))
}

async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let body: UpdateKey = json_body(&state, body).await?;
    let (_, after) = update_key(&state, &accounting, &caller, &id, body).await?;
    Ok(Json(json!({ "data": after })))
}

/// Applies `body` to key `id`, when `caller` sees it, and records the change; answers the key
/// as stored after and as the admin API shows it. The admin API and the provisioning API both
/// change keys here.
pub(crate) async fn update_key(
    state: &AppState,
    accounting: &Accounting,
    caller: &Caller,
    id: &str,
    body: UpdateKey,
) -> Result<(KeyRecord, Value), ApiError> {
    let before = visible_key(accounting, caller, id).await?;
    let before_json = key_json(&before, accounting).await?;
    let record = apply_update(state, accounting, &before, body).await?;
    let after = key_json(&record, accounting).await?;
    audit_key(
        state,
        caller,
        "key.update",
        &record,
        before_json,
        after.clone(),
    )
    .await;
    Ok((record, after))
}

/// Applies `body` to key `current`; answers the key as stored after.
async fn apply_update(
    state: &AppState,
    accounting: &Accounting,
    current: &KeyRecord,
    body: UpdateKey,
) -> Result<KeyRecord, ApiError> {
    let id = &current.id;
    if let Some(Some(policy)) = &body.routing_policy {
        known_policy(state, policy)?;
    }
    let limit = match body.limit {
        Some(Some(value)) => Some(Some(non_negative_usd(&value)?)),
        Some(None) => Some(None),
        None => None,
    };
    let rules = RuleFields {
        allowed_models: body.allowed_models,
        allowed_providers: body.allowed_providers,
        denied_providers: body.denied_providers,
        max_price: body.max_price,
        data_policy: body.data_policy,
    };
    let model_budgets = body
        .model_budgets
        .map(|budgets| model_budget_settings(budgets, state))
        .transpose()?;
    let changes_rules = rules.allowed_models.is_some()
        || rules.allowed_providers.is_some()
        || rules.denied_providers.is_some()
        || rules.max_price.is_some()
        || rules.data_policy.is_some();
    let mut policy = None;
    if changes_rules || matches!(body.team, Some(Some(_))) {
        if let Some(Some(team)) = &body.team {
            team_of_account(accounting, team, &current.account_id).await?;
        }
        policy = rules.applied_to(&current.policy, state)?;
    }
    let update = KeyUpdate {
        team_id: body.team,
        policy,
        model_budgets,
        label: body.label,
        limit,
        limit_reset: body.limit_reset,
        expires_at: body.expires_at,
        disabled: body.disabled,
        requests_per_minute: body.requests_per_minute.map(|limit| limit.map(i64::from)),
        tokens_per_minute: body.tokens_per_minute.map(|limit| limit.map(i64::from)),
        routing_policy: body.routing_policy,
    };
    accounting
        .update_key(id, &update)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| no_such("key", id))
}

/// Refuses a team that does not exist or is of another account than `account` (400).
async fn team_of_account(
    accounting: &Accounting,
    team: &str,
    account: &str,
) -> Result<(), ApiError> {
    match accounting.team(team).await.map_err(storage_error)? {
        Some(found) if found.account_id == account => Ok(()),
        Some(found) => Err(ApiError::invalid_request(format!(
            "team: {team:?} is a team of account {:?}, not of {account:?}",
            found.account_id
        ))
        .with_code("foreign_team")),
        None => Err(ApiError::invalid_request(format!("team: no team {team:?}"))),
    }
}

/// Refuses a routing policy no loaded plugin provides (400).
fn known_policy(state: &AppState, policy: &str) -> Result<(), ApiError> {
    match state.plugins.router(policy) {
        Some(_) => Ok(()),
        None => Err(ApiError::invalid_request(format!(
            "routing_policy: no routing policy plugin named {policy:?} is loaded"
        ))),
    }
}

async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    delete_key(&state, &accounting, &caller, &id).await?;
    Ok(Json(json!({ "deleted": id })))
}

/// Deletes key `id`, when `caller` sees it, and records it; the admin API and the
/// provisioning API both delete keys here.
pub(crate) async fn delete_key(
    state: &AppState,
    accounting: &Accounting,
    caller: &Caller,
    id: &str,
) -> Result<(), ApiError> {
    let key = &visible_key(accounting, caller, id).await?;
    let before = key_json(key, accounting).await?;
    if !accounting
        .delete_key(&key.id)
        .await
        .map_err(storage_error)?
    {
        return Err(no_such("key", &key.id));
    }
    audit_key(state, caller, "key.delete", key, before, Value::Null).await;
    Ok(())
}

async fn account(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    caller.check_account(&id)?;
    let account = accounting
        .account(&id)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| no_such("account", &id))?;
    let (rules, count) = accounting
        .end_user_rules(&id)
        .await
        .map_err(storage_error)?;
    let mut data = account_json(&account);
    if let Some(fields) = data.as_object_mut() {
        fields.insert(
            "end_users".into(),
            super::admin_teams::end_users_json(&rules, count),
        );
    }
    Ok(Json(json!({ "data": data })))
}

async fn add_credits(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    caller.check_account(&id)?;
    let body: AddCredits = json_body(&state, body).await?;
    let amount = usd(&body.amount)?;
    let before = accounting.account(&id).await.map_err(storage_error)?;
    let account = accounting
        .add_credits(&id, amount)
        .await
        .map_err(storage_error)?;
    let after = account_json(&account);
    let change = Change {
        action: "account.credits",
        target: &id,
        account: Some(&id),
        before: before.as_ref().map_or(Value::Null, account_json),
        after: after.clone(),
    };
    record(&state, &caller, change).await;
    Ok(Json(json!({ "data": after })))
}

/// `GET /admin/accounting`: the settlement lag (from a request's settlement to its durable
/// record) over the recent settlements, in milliseconds.
async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let lag = accounting.settlement_lag(&[0.5, 0.99]);
    let millis = |quantile: usize| lag.get(quantile).map(|lag| lag.as_secs_f64() * 1e3);
    Ok(Json(json!({ "data": {
        "settlement_lag_ms": { "p50": millis(0), "p99": millis(1) },
    }})))
}

/// A key as the admin API shows it (never its secret), with its budgets on models.
async fn key_json(key: &KeyRecord, accounting: &Accounting) -> Result<Value, ApiError> {
    let budgets = accounting
        .model_budgets(Level::Key, &key.id)
        .await
        .map_err(storage_error)?;
    Ok(shown_key(key, &budgets))
}

/// Key `key` as the admin API shows it (never its secret), with its budgets on models
/// `budgets`.
fn shown_key(key: &KeyRecord, budgets: &ModelBudgets) -> Value {
    let mut fields = key.policy.to_json();
    fields.insert("team".into(), json!(key.team_id));
    fields.insert("model_budgets".into(), model_budgets_json(budgets));
    let Value::Object(base) = json!({
        "id": key.id,
        "label": key.label,
        "account": key.account_id,
        "limit": key.limit.map(usd_json),
        "limit_reset": key.limit_reset.map(LimitReset::as_str),
        "limit_remaining": limit_remaining(key, now()).map(usd_json),
        "usage": usd_json(key.usage),
        "reserved": usd_json(key.reserved),
        "disabled": key.disabled,
        "requests_per_minute": key.requests_per_minute,
        "tokens_per_minute": key.tokens_per_minute,
        "routing_policy": key.routing_policy,
        "expires_at": key.expires_at,
        "created_at": key.created_at,
    }) else {
        return Value::Object(fields);
    };
    fields.extend(base);
    Value::Object(fields)
}

fn account_json(account: &Account) -> Value {
    json!({
        "id": account.id,
        "total_credits": usd_json(account.credits),
        "total_usage": usd_json(account.usage),
        "reserved": usd_json(account.reserved),
    })
}
