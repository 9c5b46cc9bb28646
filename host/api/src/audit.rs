//! The audit log in the admin API: [`record`] writes the entry of a change (secrets redacted),
//! `GET /admin/audit` reads entries newest first, filtered and in pages. A token scoped to an
//! account reads that account's entries only.

use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin_lookup::enabled;
use super::error::ApiError;
use super::roles::{Access, Caller};
use super::route::Route;
use switchyard_accounting::audit::{AuditEntry, AuditQuery};
use switchyard_accounting::storage_error;
use switchyard_domain::money::now;

/// Fields whose values are secrets: replaced by `"[redacted]"` wherever they appear.
const SECRET_FIELDS: [&str; 6] = [
    "key",
    "token",
    "secret",
    "hash",
    "password",
    "client_secret",
];

/// Entries per page unless asked otherwise, and at most.
const PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// The audit route.
pub fn routes() -> Vec<Route> {
    vec![Route::at("/admin/audit").get(list).admin(Access::Audit)]
}

/// `value` with every secret field's value replaced.
pub fn redacted(mut value: Value) -> Value {
    redact(&mut value);
    value
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                if SECRET_FIELDS.contains(&name.as_str()) && !field.is_null() {
                    *field = json!("[redacted]");
                } else {
                    redact(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// What changed, for [`record`].
#[derive(Debug)]
pub struct Change<'a> {
    /// e.g. `key.create`.
    pub action: &'a str,
    /// The id of what changed.
    pub target: &'a str,
    /// The account it concerns.
    pub account: Option<&'a str>,
    /// Its state before (`Value::Null` for a creation).
    pub before: Value,
    /// Its state after (`Value::Null` for a removal).
    pub after: Value,
}

/// Writes the entry of `change` made by `caller`, and removes the entries past the retention.
/// The change is made already: a failure to write is logged, not answered.
pub async fn record(state: &AppState, caller: &Caller, change: Change<'_>) {
    let entry = AuditEntry {
        id: String::new(),
        at: now(),
        actor: caller.actor.clone(),
        action: change.action.to_owned(),
        target: change.target.to_owned(),
        account: change.account.map(str::to_owned),
        before: redacted(change.before),
        after: redacted(change.after),
    };
    let Some(accounting) = &state.accounting else {
        tracing::info!(actor = %entry.actor, action = %entry.action, target = %entry.target,
            "admin change (no audit log without accounting)");
        return;
    };
    let retention = state.audit_retention_days;
    let expired_before =
        (retention > 0).then(|| now().saturating_sub(i64::from(retention) * 86_400));
    if let Err(error) = accounting.store.record_audit(&entry, expired_before).await {
        tracing::error!(%error, action = %entry.action, target = %entry.target,
            "the audit entry of an admin change was not written");
    }
}

/// Query of `GET /admin/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    account: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    since: Option<i64>,
    /// The `next` of the previous page.
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let Query(params) = query.map_err(|error| ApiError::invalid_request(error.body_text()))?;
    if let Some(account) = &params.account {
        caller.check_account(account)?;
    }
    let limit = params.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE);
    let query = AuditQuery {
        actor: params.actor,
        action: params.action,
        target: params.target,
        account: params.account.or_else(|| caller.account.clone()),
        since: params.since,
        before: params.before,
        limit,
    };
    let entries = accounting
        .store
        .audit(&query)
        .await
        .map_err(storage_error)?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|entry| entry.id.clone()))
        .flatten();
    Ok(Json(json!({ "data": entries, "next": next })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let value = redacted(json!({
            "id": "key_1",
            "key": "sk-sy-v1-secret",
            "nested": [{ "token": "t", "label": "x" }],
            "hash": null,
        }));
        assert_eq!(
            value,
            json!({
                "id": "key_1",
                "key": "[redacted]",
                "nested": [{ "token": "[redacted]", "label": "x" }],
                "hash": null,
            })
        );
    }
}
