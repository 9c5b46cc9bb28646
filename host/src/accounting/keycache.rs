//! Keys by the hash of their secret, remembered so that authorising a request reads no
//! database. Every change of a key made through this gateway forgets it.
//!
//! The gateway that owns the embedded SQLite file is the only one that changes its keys, so it
//! remembers them for good. On PostgreSQL other gateways may change a key, so a key is
//! remembered for [`SHARED_DATABASE_TTL`] only: a change made elsewhere (rate limits, routing
//! policy) applies within that time here. Whether a key is disabled, expired, deleted or past its
//! limit is checked again when its lease is confirmed in the database, as often
//! ([`super::lease`]).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::store::KeyRecord;

/// How long a gateway on a shared database trusts a key it read.
pub const SHARED_DATABASE_TTL: Duration = Duration::from_secs(1);

/// Keys read so far, by secret hash, with when they were read.
#[derive(Debug, Default)]
pub struct KeyCache {
    by_hash: Mutex<HashMap<String, (KeyRecord, Instant)>>,
    /// How long an entry is trusted; `None`: until forgotten.
    ttl: Option<Duration>,
}

impl KeyCache {
    /// A cache whose entries are trusted for `ttl` (`None`: until forgotten).
    pub fn new(ttl: Option<Duration>) -> Self {
        KeyCache {
            by_hash: Mutex::default(),
            ttl,
        }
    }

    /// The key whose secret hashes to `hash`, if remembered and still trusted.
    pub fn get(&self, hash: &str) -> Option<KeyRecord> {
        let entries = self.lock();
        let (key, read_at) = entries.get(hash)?;
        self.trusted(*read_at).then(|| key.clone())
    }

    /// Remembers `key` under `hash`, read now.
    pub fn insert(&self, hash: String, key: KeyRecord) {
        let mut entries = self.lock();
        // Stale entries of keys no longer used would otherwise stay for good.
        entries.retain(|_, (_, read_at)| self.trusted(*read_at));
        entries.insert(hash, (key, Instant::now()));
    }

    /// Whether an entry read at `read_at` is still trusted.
    fn trusted(&self, read_at: Instant) -> bool {
        self.ttl.is_none_or(|ttl| read_at.elapsed() < ttl)
    }

    /// Forgets key `id` (changed or deleted).
    pub fn forget(&self, id: &str) {
        self.lock().retain(|_, (key, _)| key.id != id);
    }

    /// Forgets every key (a team or an account changed: what it imposes is read with the key).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (KeyRecord, Instant)>> {
        self.by_hash.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::books::tests::key;

    #[test]
    fn a_shared_database_s_key_is_trusted_for_its_ttl_only() {
        let forever = KeyCache::new(None);
        forever.insert("h".to_owned(), key(None));
        assert_eq!(forever.get("h"), Some(key(None)));
        let expired = KeyCache::new(Some(Duration::ZERO));
        expired.insert("h".to_owned(), key(None));
        assert_eq!(expired.get("h"), None);
        let brief = KeyCache::new(Some(Duration::from_secs(60)));
        brief.insert("h".to_owned(), key(None));
        assert_eq!(brief.get("h"), Some(key(None)));
        brief.forget("k");
        assert_eq!(brief.get("h"), None);
    }
}
