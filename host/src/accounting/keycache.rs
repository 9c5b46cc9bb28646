//! Keys by the hash of their secret, remembered by the gateway that owns the embedded database
//! so that authorising a request reads no disk. Every change of a key made through this
//! gateway forgets it; keys are only changed through the gateway that owns the file.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::store::KeyRecord;

/// Keys read so far, by secret hash.
#[derive(Debug, Default)]
pub struct KeyCache {
    by_hash: Mutex<HashMap<String, KeyRecord>>,
}

impl KeyCache {
    /// The key whose secret hashes to `hash`, if remembered.
    pub fn get(&self, hash: &str) -> Option<KeyRecord> {
        self.lock().get(hash).cloned()
    }

    /// Remembers `key` under `hash`.
    pub fn insert(&self, hash: String, key: KeyRecord) {
        self.lock().insert(hash, key);
    }

    /// Forgets key `id` (changed or deleted).
    pub fn forget(&self, id: &str) {
        self.lock().retain(|_, key| key.id != id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, KeyRecord>> {
        self.by_hash.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
