//! Admin tokens: bearer tokens of the admin API with a role and, optionally, an account scope.
//! Created by an owner (or issued for a while by single sign-on), shown once, stored as the
//! SHA-256 of the secret. Every admin request reads its token from the database, so a token
//! made or removed through one gateway counts on every other at once.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::store::Store;
use switchyard_domain::money::now;
use switchyard_domain::store_error::StoreError;

/// What an admin token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, admin tokens included.
    Owner,
    /// Plugins, routing and providers; reads the rest.
    Operator,
    /// Accounts, teams, keys and credits; reads the rest.
    Billing,
    /// Reads only.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Operator, Role::Billing, Role::Viewer];

    /// Its name, as stored and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Operator => "operator",
            Role::Billing => "billing",
            Role::Viewer => "viewer",
        }
    }

    /// The role named `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// Whether a token of this role may be limited to one account (an owner or operator acts
    /// on the whole gateway).
    pub fn scopable(self) -> bool {
        matches!(self, Role::Billing | Role::Viewer)
    }
}

/// An admin token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    /// Token id.
    pub id: String,
    /// Its role.
    pub role: Role,
    /// The only account it sees and changes, when scoped.
    pub account: Option<String>,
    /// A name for people.
    pub label: String,
    /// The single sign-on subject it was issued to, for tokens issued by sign-in.
    pub subject: Option<String>,
    /// Who created it (a token id, `env`, or `sso:<subject>`).
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds after which it no longer counts; `None`: never.
    pub expires_at: Option<i64>,
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewAdminToken<'a> {
    /// Its role.
    pub role: Role,
    /// Its account scope.
    pub account: Option<&'a str>,
    /// A name for people.
    pub label: &'a str,
    /// The single sign-on subject, for tokens issued by sign-in.
    pub subject: Option<&'a str>,
    /// Who creates it.
    pub created_by: &'a str,
    /// When it stops counting, unix seconds.
    pub expires_at: Option<i64>,
}

const COLUMNS: &str = "SELECT id, role, account_id, label, subject, created_by, created_at, expires_at FROM admin_tokens";

fn token(row: &AnyRow) -> Result<AdminToken, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(AdminToken {
        id: row.try_get("id")?,
        role: Role::parse(&role).ok_or(StoreError::Corrupt("admin token role"))?,
        account: row.try_get("account_id")?,
        label: row.try_get("label")?,
        subject: row.try_get("subject")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

impl Store {
    /// Stores admin token `id` whose secret hashes to `hash`.
    pub async fn create_admin_token(
        &self,
        id: &str,
        hash: &str,
        new: &NewAdminToken<'_>,
    ) -> Result<AdminToken, StoreError> {
        let created_at = now();
        sqlx::query(
            "INSERT INTO admin_tokens (id, hash, role, account_id, label, subject, created_by,
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(hash)
        .bind(new.role.as_str())
        .bind(new.account)
        .bind(new.label)
        .bind(new.subject)
        .bind(new.created_by)
        .bind(created_at)
        .bind(new.expires_at)
        .execute(&mut *self.full_connection().await?)
        .await?;
        Ok(AdminToken {
            id: id.to_owned(),
            role: new.role,
            account: new.account.map(str::to_owned),
            label: new.label.to_owned(),
            subject: new.subject.map(str::to_owned),
            created_by: new.created_by.to_owned(),
            created_at,
            expires_at: new.expires_at,
        })
    }

    /// The unexpired token whose secret hashes to `hash`.
    pub async fn admin_token_by_hash(&self, hash: &str) -> Result<Option<AdminToken>, StoreError> {
        let row = sqlx::query(&format!(
            "{COLUMNS} WHERE hash = $1 AND (expires_at IS NULL OR expires_at > $2)"
        ))
        .bind(hash)
        .bind(now())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(token).transpose()
    }

    /// Every unexpired token (of `account` only, when given), oldest first.
    pub async fn admin_tokens(&self, account: Option<&str>) -> Result<Vec<AdminToken>, StoreError> {
        let rows = sqlx::query(&format!(
            "{COLUMNS} WHERE expires_at IS NULL OR expires_at > $1 ORDER BY created_at, id"
        ))
        .bind(now())
        .fetch_all(self.pool())
        .await?;
        let mut tokens = Vec::with_capacity(rows.len());
        for row in &rows {
            let token = token(row)?;
            if account.is_none() || token.account.as_deref() == account {
                tokens.push(token);
            }
        }
        Ok(tokens)
    }

    /// Token `id`.
    pub async fn admin_token(&self, id: &str) -> Result<Option<AdminToken>, StoreError> {
        let row = sqlx::query(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(token).transpose()
    }

    /// Removes token `id` (and the expired ones); whether it existed.
    pub async fn delete_admin_token(&self, id: &str) -> Result<bool, StoreError> {
        let mut connection = self.full_connection().await?;
        sqlx::query("DELETE FROM admin_tokens WHERE expires_at IS NOT NULL AND expires_at <= $1")
            .bind(now())
            .execute(&mut *connection)
            .await?;
        let deleted = sqlx::query("DELETE FROM admin_tokens WHERE id = $1")
            .bind(id)
            .execute(&mut *connection)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }
}
