//! Who may call which admin route. Every admin route declares the area it belongs to
//! ([`Access`], on its [`super::route::Route`]); [`guard`] runs before its handler: it finds the
//! caller from the bearer token — the bootstrap owner token of the environment, an admin token,
//! or one issued by single sign-on — refuses a role outside the area with 403, and hands the
//! handler the [`Caller`], whose account scope the handler applies to what it reads and changes.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use switchyard_accounting::admin_tokens::Role;
use switchyard_accounting::keys::hash_secret;
use switchyard_accounting::storage_error;

/// The area an admin route belongs to, which decides the roles that may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Plugins, routing, providers, gateway-wide activity: operators change, unscoped tokens
    /// read.
    Operations,
    /// Accounts, teams, keys, credits: billing tokens change, every token reads (a scoped one
    /// only its account's).
    Billing,
    /// Admin tokens: owners only.
    Tokens,
    /// The audit log: every token reads (a scoped one only its account's entries).
    Audit,
    /// The caller's own identity: every token reads.
    Session,
}

/// The caller of an admin route, found by [`guard`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who, as the audit log names them: `env`, an admin token id, or `sso:<subject>`.
    pub actor: String,
    /// Its role.
    pub role: Role,
    /// The only account it sees and changes, when scoped.
    pub account: Option<String>,
    /// Its token's label (an e-mail address for sign-ins).
    pub label: String,
    /// When its token stops counting, unix seconds.
    pub expires_at: Option<i64>,
}

impl Caller {
    /// Whether it may call `method` on a route of `access`.
    pub fn may(&self, access: Access, method: &Method) -> bool {
        let reads = *method == Method::GET || *method == Method::HEAD;
        match (self.role, access) {
            (Role::Owner, _) => true,
            (_, Access::Tokens) => false,
            (_, Access::Audit | Access::Session) => reads,
            (role, Access::Operations) => {
                self.account.is_none() && (reads || role == Role::Operator)
            }
            (role, Access::Billing) => reads || role == Role::Billing,
        }
    }

    /// Whether it sees account `account`.
    pub fn sees(&self, account: &str) -> bool {
        self.account.as_deref().is_none_or(|scope| scope == account)
    }

    /// Refuses (403) an account it does not see.
    pub fn check_account(&self, account: &str) -> Result<(), ApiError> {
        if self.sees(account) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            format!(
                "this admin token is scoped to account {:?}; it cannot act on account {account:?}",
                self.account.as_deref().unwrap_or_default()
            ),
        )
        .with_code("account_out_of_scope"))
    }

    /// The account to act on when the request names none: its scope, else `default`.
    pub fn default_account(&self) -> String {
        self.account.clone().unwrap_or_else(|| "default".to_owned())
    }
}

/// The bearer token of `headers`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// The caller whose bearer token `headers` carry: 404 when the admin API is disabled, 401
/// without a known token.
pub async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    if state.admin_token.is_none() {
        // Answers that the admin API is disabled.
        super::bearer::check_bearer(None, headers)?;
    }
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid admin token",
        )
        .with_code("invalid_admin_token")
    };
    if super::bearer::check_bearer(state.admin_token.as_deref(), headers).is_ok() {
        return Ok(Caller {
            actor: "env".to_owned(),
            role: Role::Owner,
            account: None,
            label: "bootstrap owner token".to_owned(),
            expires_at: None,
        });
    }
    let (Some(token), Some(accounting)) = (bearer(headers), &state.accounting) else {
        return Err(invalid());
    };
    let found = accounting
        .store
        .admin_token_by_hash(&hash_secret(token))
        .await
        .map_err(storage_error)?
        .ok_or_else(invalid)?;
    Ok(Caller {
        actor: match &found.subject {
            Some(subject) => format!("sso:{subject}"),
            None => found.id,
        },
        role: found.role,
        account: found.account,
        label: found.label,
        expires_at: found.expires_at,
    })
}

/// Runs before the handler of an admin route of `access`: finds the caller, refuses one whose
/// role is outside the area (403), and gives the handler the [`Caller`] as an extension.
pub async fn guard(state: AppState, access: Access, mut request: Request, next: Next) -> Response {
    let caller = match caller(&state, request.headers()).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    if !caller.may(access, request.method()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            format!(
                "a{} {} admin token{} cannot {} {}",
                if caller.role == Role::Owner || caller.role == Role::Operator {
                    "n"
                } else {
                    ""
                },
                caller.role.as_str(),
                match &caller.account {
                    Some(account) => format!(" scoped to account {account:?}"),
                    None => String::new(),
                },
                request.method(),
                request.uri().path()
            ),
        )
        .with_code("forbidden_role")
        .into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, account: Option<&str>) -> Caller {
        Caller {
            actor: "t".into(),
            role,
            account: account.map(str::to_owned),
            label: String::new(),
            expires_at: None,
        }
    }

    #[test]
    fn each_role_reaches_its_areas_only() {
        let (get, post) = (Method::GET, Method::POST);
        let operator = caller(Role::Operator, None);
        assert!(operator.may(Access::Operations, &post));
        assert!(!operator.may(Access::Billing, &post));
        assert!(operator.may(Access::Billing, &get));
        assert!(!operator.may(Access::Tokens, &get));
        let billing = caller(Role::Billing, Some("acme"));
        assert!(billing.may(Access::Billing, &post));
        assert!(!billing.may(Access::Operations, &get));
        assert!(billing.sees("acme") && !billing.sees("globex"));
        let viewer = caller(Role::Viewer, None);
        assert!(viewer.may(Access::Operations, &get) && !viewer.may(Access::Operations, &post));
        assert!(viewer.may(Access::Audit, &get));
        assert!(caller(Role::Owner, None).may(Access::Tokens, &Method::DELETE));
    }
}
