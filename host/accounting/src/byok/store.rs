//! Accounts' own keys in the accounting database (table `byok_keys`, migration 8): one row per
//! account and provider, the key sealed ([`super::cipher`]), its last four characters for
//! listings, and whether the operator's credentials may serve when it is refused.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::cipher::Sealed;
use crate::store::Store;
use switchyard_domain::money::now;
use switchyard_domain::store_error::StoreError;

/// One stored key, still sealed.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// The account.
    pub account_id: String,
    /// The provider it is for.
    pub provider: String,
    /// The sealed key.
    pub sealed: Sealed,
    /// Its last four characters.
    pub last_four: String,
    /// The operator's credentials may serve when this one is refused.
    pub fallback: bool,
    /// Unix seconds of the last upload.
    pub updated_at: i64,
}

const COLUMNS: &str =
    "account_id, provider, key_id, nonce, ciphertext, last_four, fallback, updated_at";

fn stored(row: &AnyRow) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        account_id: row.try_get("account_id")?,
        provider: row.try_get("provider")?,
        sealed: Sealed {
            key_id: row.try_get("key_id")?,
            nonce: row.try_get("nonce")?,
            ciphertext: row.try_get("ciphertext")?,
        },
        last_four: row.try_get("last_four")?,
        fallback: row.try_get::<i64, _>("fallback")? != 0,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Stores (or replaces) `key`; its account must exist.
pub async fn put(store: &Store, key: &StoredKey) -> Result<(), StoreError> {
    let mut connection = store.full_connection().await?;
    let exists = sqlx::query("SELECT id FROM accounts WHERE id = $1")
        .bind(&key.account_id)
        .fetch_optional(&mut *connection)
        .await?
        .is_some();
    if !exists {
        return Err(StoreError::NotFound("account"));
    }
    let at = now();
    sqlx::query(
        "INSERT INTO byok_keys (account_id, provider, key_id, nonce, ciphertext, last_four, \
         fallback, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (account_id, provider) DO UPDATE SET key_id = excluded.key_id, \
         nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
         last_four = excluded.last_four, fallback = excluded.fallback, \
         updated_at = excluded.updated_at",
    )
    .bind(&key.account_id)
    .bind(&key.provider)
    .bind(&key.sealed.key_id)
    .bind(&key.sealed.nonce)
    .bind(&key.sealed.ciphertext)
    .bind(&key.last_four)
    .bind(i64::from(key.fallback))
    .bind(at)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// The keys of `account_id`.
pub async fn of_account(store: &Store, account_id: &str) -> Result<Vec<StoredKey>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM byok_keys WHERE account_id = $1 ORDER BY provider"
    ))
    .bind(account_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(stored).collect()
}

/// Every stored key (for re-encryption).
pub async fn all(store: &Store) -> Result<Vec<StoredKey>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM byok_keys ORDER BY account_id, provider"
    ))
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(stored).collect()
}

/// Replaces the sealed form of one key, when it is still the one read as `before` (a key
/// uploaded meanwhile is left as it is); returns whether it was replaced.
pub async fn reseal(store: &Store, key: &StoredKey, before: &Sealed) -> Result<bool, StoreError> {
    let mut connection = store.full_connection().await?;
    let done = sqlx::query(
        "UPDATE byok_keys SET key_id = $1, nonce = $2, ciphertext = $3 \
         WHERE account_id = $4 AND provider = $5 AND nonce = $6",
    )
    .bind(&key.sealed.key_id)
    .bind(&key.sealed.nonce)
    .bind(&key.sealed.ciphertext)
    .bind(&key.account_id)
    .bind(&key.provider)
    .bind(&before.nonce)
    .execute(&mut *connection)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes the key of `account_id` for `provider`; returns whether there was one.
pub async fn delete(store: &Store, account_id: &str, provider: &str) -> Result<bool, StoreError> {
    let mut connection = store.full_connection().await?;
    let done = sqlx::query("DELETE FROM byok_keys WHERE account_id = $1 AND provider = $2")
        .bind(account_id)
        .bind(provider)
        .execute(&mut *connection)
        .await?;
    Ok(done.rows_affected() > 0)
}
