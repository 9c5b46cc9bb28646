//! Bring your own key: an account stores its own credential for a provider, sealed at rest
//! ([`cipher`]) in the accounting database ([`store`]). Its requests to that provider carry it
//! first; the operator's credentials serve only when it is refused and the account allows the
//! fallback. A call served on the account's key is charged the BYOK fee (a share of what it
//! would have cost, [`fee`]) and its usage record says so. Stored keys are never returned: a
//! listing shows their last four characters.

pub mod cipher;
pub mod fee;
pub mod shape;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde::Serialize;

use self::cipher::Keyring;
use self::store::StoredKey;
use crate::store::Store;
use switchyard_catalog::credentials::prepared::PreparedCredential;
use switchyard_domain::config::credentials::ByokConfig;
use switchyard_domain::store_error::{CipherError, StoreError};

/// Why a BYOK operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ByokError {
    /// No operator key is configured.
    #[error("bring-your-own-key is off: set the operator key variable {0}")]
    Off(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key does not open.
    #[error(transparent)]
    Cipher(#[from] CipherError),
}

/// An account's own credential for one provider, opened.
pub struct AccountCredential {
    secret: String,
    prepared: PreparedCredential,
    /// The operator's credentials may serve when this one is refused.
    pub fallback: bool,
}

impl std::fmt::Debug for AccountCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountCredential")
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

impl AccountCredential {
    /// The secret, to put where the adapter asked.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The secret as header values, built once.
    pub fn prepared(&self) -> &PreparedCredential {
        &self.prepared
    }
}

/// An account's own credentials, by provider, and the fee of calls they serve.
#[derive(Debug)]
pub struct AccountKeys {
    by_provider: HashMap<String, Arc<AccountCredential>>,
    /// The BYOK fee, in percent of what a call would have cost.
    pub fee_percent: Decimal,
}

impl AccountKeys {
    /// The account's credential for `provider`.
    pub fn get(&self, provider: &str) -> Option<&Arc<AccountCredential>> {
        self.by_provider.get(provider)
    }
}

/// What a listing shows of a stored key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyListing {
    /// The provider.
    pub provider: String,
    /// Its last four characters.
    pub last_four: String,
    /// The operator's credentials may serve when it is refused.
    pub fallback: bool,
    /// The operator key it is sealed under.
    pub sealed_with: String,
    /// Unix seconds of the last upload.
    pub updated_at: i64,
}

impl KeyListing {
    fn of(key: &StoredKey) -> KeyListing {
        KeyListing {
            provider: key.provider.clone(),
            last_four: key.last_four.clone(),
            fallback: key.fallback,
            sealed_with: key.sealed.key_id.clone(),
            updated_at: key.updated_at,
        }
    }
}

/// How long a gateway on a shared database trusts the keys of an account it read; the
/// gateway owning the embedded file forgets them when they change.
const SHARED_DATABASE_TTL: Duration = Duration::from_secs(1);

/// An account's keys as read (`None`: it has none), and when.
type Cached = (Option<Arc<AccountKeys>>, Instant);

/// Accounts' keys of a running gateway.
pub struct Byok {
    keyring: Option<Keyring>,
    variable: String,
    store: Store,
    fee_percent: Decimal,
    ttl: Option<Duration>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for Byok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Byok")
            .field("keyring", &self.keyring)
            .field("fee_percent", &self.fee_percent)
            .finish_non_exhaustive()
    }
}

impl Byok {
    /// BYOK over `store`, its operator keys read from the environment (a malformed variable
    /// stops the start; an unset one leaves BYOK off).
    pub fn new(config: &ByokConfig, store: Store) -> Result<Byok, CipherError> {
        let keyring = match std::env::var(&config.keys_env) {
            Ok(value) if !value.trim().is_empty() => {
                Some(Keyring::parse(&config.keys_env, &value)?)
            }
            _ => None,
        };
        Ok(Byok {
            keyring,
            variable: config.keys_env.clone(),
            ttl: (!store.is_embedded()).then_some(SHARED_DATABASE_TTL),
            store,
            fee_percent: config.fee_percent,
            cache: Mutex::default(),
        })
    }

    fn keyring(&self) -> Result<&Keyring, ByokError> {
        self.keyring
            .as_ref()
            .ok_or_else(|| ByokError::Off(self.variable.clone()))
    }

    /// The keys of `account_id` (`None`: it has none, or BYOK is off). A key that no longer
    /// opens (its operator key was dropped) is left out and logged.
    pub async fn of_account(
        &self,
        account_id: &str,
    ) -> Result<Option<Arc<AccountKeys>>, StoreError> {
        let Some(keyring) = &self.keyring else {
            return Ok(None);
        };
        if let Some((keys, read_at)) = self.lock().get(account_id)
            && self.ttl.is_none_or(|ttl| read_at.elapsed() < ttl)
        {
            return Ok(keys.clone());
        }
        let stored = store::of_account(&self.store, account_id).await?;
        let mut by_provider = HashMap::with_capacity(stored.len());
        for key in stored {
            match keyring.open(&key.sealed, &context(&key.account_id, &key.provider)) {
                Ok(secret) => {
                    let credential = AccountCredential {
                        prepared: PreparedCredential::of(Some(&secret)),
                        secret,
                        fallback: key.fallback,
                    };
                    by_provider.insert(key.provider, Arc::new(credential));
                }
                Err(error) => {
                    tracing::error!(account = %account_id, provider = %key.provider, %error, "an account's own key cannot be used");
                }
            }
        }
        let keys = (!by_provider.is_empty()).then(|| {
            Arc::new(AccountKeys {
                by_provider,
                fee_percent: self.fee_percent,
            })
        });
        self.lock()
            .insert(account_id.to_owned(), (keys.clone(), Instant::now()));
        Ok(keys)
    }

    /// Seals and stores `secret` as `account_id`'s key for `provider` (its shape checked by
    /// the caller, [`shape`]).
    pub async fn upload(
        &self,
        account_id: &str,
        provider: &str,
        secret: &str,
        fallback: bool,
    ) -> Result<KeyListing, ByokError> {
        let sealed = self
            .keyring()?
            .seal(secret, &context(account_id, provider))?;
        let last_four: String = {
            let chars: Vec<char> = secret.chars().collect();
            chars[chars.len().saturating_sub(4)..].iter().collect()
        };
        let key = StoredKey {
            account_id: account_id.to_owned(),
            provider: provider.to_owned(),
            sealed,
            last_four,
            fallback,
            updated_at: switchyard_domain::money::now(),
        };
        store::put(&self.store, &key).await?;
        self.forget(account_id);
        Ok(KeyListing::of(&key))
    }

    /// The keys of `account_id`, as listings.
    pub async fn list(&self, account_id: &str) -> Result<Vec<KeyListing>, StoreError> {
        let stored = store::of_account(&self.store, account_id).await?;
        Ok(stored.iter().map(KeyListing::of).collect())
    }

    /// Deletes `account_id`'s key for `provider`; returns whether there was one.
    pub async fn delete(&self, account_id: &str, provider: &str) -> Result<bool, StoreError> {
        let deleted = store::delete(&self.store, account_id, provider).await?;
        self.forget(account_id);
        Ok(deleted)
    }

    /// Re-seals every stored key not sealed under the current operator key; returns how many
    /// were re-sealed. A key that does not open fails the rotation (nothing is lost: the keys
    /// done so far open under the current key, the rest under their old one).
    pub async fn rotate(&self) -> Result<u64, ByokError> {
        let keyring = self.keyring()?;
        let mut resealed = 0;
        for mut key in store::all(&self.store).await? {
            if key.sealed.key_id == keyring.current() {
                continue;
            }
            let context = context(&key.account_id, &key.provider);
            let secret = keyring.open(&key.sealed, &context)?;
            let before = std::mem::replace(&mut key.sealed, keyring.seal(&secret, &context)?);
            if store::reseal(&self.store, &key, &before).await? {
                resealed += 1;
            }
        }
        self.lock().clear();
        Ok(resealed)
    }

    fn forget(&self, account_id: &str) {
        self.lock().remove(account_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The associated data of a stored key: its row.
fn context(account_id: &str, provider: &str) -> String {
    format!("{account_id}/{provider}")
}
