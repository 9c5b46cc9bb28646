//! What the admin API and a key's own reads see and change, kept consistent with the balances
//! in memory: reads wait until every settlement queued so far is committed and show the holds
//! of this gateway; changes reach the books and the key cache as soon as they are stored.

use std::time::Duration;

use super::Accounting;
use super::holds::Ledger;
use super::store::{Account, GenerationRecord, KeyRecord, KeyUpdate, NewKey};
use switchyard_domain::money::Nanos;
use switchyard_domain::policy_refusal::Level;
use switchyard_domain::store_error::StoreError;

impl Accounting {
    /// Gives back the room leases hold and no request uses, and waits until every settlement
    /// queued so far is committed: the database then shows what requests in flight hold.
    pub async fn settled(&self) -> Result<(), StoreError> {
        self.holds.give_back_unused(Duration::ZERO).await;
        self.settler.flush().await
    }

    /// The settlement lag (queued to committed) at each quantile of `wanted`.
    pub fn settlement_lag(&self, wanted: &[f64]) -> Vec<std::time::Duration> {
        self.settler.lag_percentiles(wanted)
    }

    /// Stores a new key under `id` with the SHA-256 `hash` of its secret.
    pub async fn create_key(
        &self,
        id: &str,
        hash: &str,
        key: &NewKey,
    ) -> Result<KeyRecord, StoreError> {
        self.store.create_key(id, hash, key).await
    }

    /// Every key, oldest first, with its settled spending and its holds.
    pub async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.settled().await?;
        let mut keys = self.store.keys().await?;
        for key in &mut keys {
            self.show_holds_of_key(key);
        }
        Ok(keys)
    }

    /// The key `id`, with its settled spending and its holds.
    pub async fn key(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.settled().await?;
        let mut key = self.store.key(id).await?;
        if let Some(key) = &mut key {
            self.show_holds_of_key(key);
        }
        Ok(key)
    }

    /// Applies `update` to key `id`.
    pub async fn update_key(
        &self,
        id: &str,
        update: &KeyUpdate,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let mut key = self.store.update_key(id, update).await?;
        if update.model_budgets.is_some() {
            self.model_budgets_changed(Level::Key, id).await?;
        }
        self.key_cache.forget(id);
        match (&self.ledger, &key) {
            (Ledger::Books(books), Some(key)) => books.key_updated(key),
            (Ledger::Leases(leases), _) => leases.forget(id).await,
            (Ledger::Books(_), None) => {}
        }
        if let Some(key) = &mut key {
            self.show_holds_of_key(key);
        }
        Ok(key)
    }

    /// Deletes key `id`. Returns whether it existed.
    pub async fn delete_key(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self.store.delete_key(id).await?;
        self.key_cache.forget(id);
        match &self.ledger {
            Ledger::Books(books) => books.key_deleted(id),
            Ledger::Leases(leases) => leases.forget(id).await,
        }
        Ok(deleted)
    }

    /// The account `id`, with its settled spending and its holds.
    pub async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        self.settled().await?;
        let mut account = self.store.account(id).await?;
        if let Some(account) = &mut account {
            self.show_holds_of_account(account);
        }
        Ok(account)
    }

    /// Adds `amount` credits to account `id`, creating it when missing.
    pub async fn add_credits(&self, id: &str, amount: Nanos) -> Result<Account, StoreError> {
        let mut account = self.store.add_credits(id, amount).await?;
        if let Ledger::Books(books) = &self.ledger {
            books.credits_added(id, amount);
        }
        self.settled().await?;
        self.show_holds_of_account(&mut account);
        Ok(account)
    }

    /// The generation record `id`, once settled.
    pub async fn generation(&self, id: &str) -> Result<Option<GenerationRecord>, StoreError> {
        self.settled().await?;
        self.store.generation(id).await
    }

    /// What key `id` spent since `since` (unix seconds), settled, nano-USD.
    pub async fn spent_since(&self, key_id: &str, since: i64) -> Result<Nanos, StoreError> {
        self.store.spent_since(key_id, since).await
    }

    /// Holds of the embedded database live in memory, not in the stored row.
    fn show_holds_of_key(&self, key: &mut KeyRecord) {
        if let Ledger::Books(books) = &self.ledger {
            key.reserved = books.key_reserved(&key.id);
        }
    }

    fn show_holds_of_account(&self, account: &mut Account) {
        if let Ledger::Books(books) = &self.ledger {
            account.reserved = books.account_reserved(&account.id);
        }
    }
}
