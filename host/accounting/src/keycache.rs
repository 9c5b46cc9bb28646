//! Keys by the digest of their secret, remembered so that authorising a request reads no
//! database and copies no key. Every change of a key made through this gateway forgets it.
//!
//! The gateway that owns the embedded SQLite file is the only one that changes its keys, so it
//! remembers them for good. On PostgreSQL other gateways may change a key, so a key is
//! remembered for [`SHARED_DATABASE_TTL`] only: a change made elsewhere (rate limits, routing
//! policy) applies within that time here. A key in use is read again in the background once
//! half that time has passed ([`Lookup::Stale`]), so that requests do not all wait for the
//! database together when it runs out. Whether a key is disabled, expired, deleted or past its
//! limit is checked again when its lease is confirmed in the database, as often
//! ([`super::lease`]).
//!
//! A read that began before a change is never remembered after it: every change moves the
//! cache to a new generation, and a key read in an older one is not kept.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::keys::SecretDigest;
use super::store::KeyRecord;

/// How long a gateway on a shared database trusts a key it read.
pub const SHARED_DATABASE_TTL: Duration = Duration::from_secs(1);

/// Entries past which stale ones are dropped before another is added.
const PRUNE_FROM: usize = 1_024;

/// Most keys remembered: past this many fresh ones, the cache starts over.
const MOST_KEYS: usize = 1 << 20;

/// A remembered key.
#[derive(Debug)]
struct Entry {
    key: Arc<KeyRecord>,
    read_at: Instant,
    /// A request took on reading it again.
    refreshing: AtomicBool,
}

/// What the cache knows of a secret.
#[derive(Debug, PartialEq)]
pub enum Lookup {
    /// Its key, trusted.
    Fresh(Arc<KeyRecord>),
    /// Its key, trusted for less than half its time still: the caller reads it again in the
    /// background (no other caller is told so until that read is remembered).
    Stale(Arc<KeyRecord>),
    /// Not remembered, or no longer trusted.
    Missing,
}

/// Keys read so far, by secret digest, with when they were read.
#[derive(Debug, Default)]
pub struct KeyCache {
    entries: Mutex<Entries>,
    /// How long an entry is trusted; `None`: until forgotten.
    ttl: Option<Duration>,
    /// Moves on every change: reads begun before it are not remembered.
    generation: AtomicU64,
}

#[derive(Debug, Default)]
struct Entries {
    by_digest: HashMap<SecretDigest, Entry, BuildHasherDefault<DigestHasher>>,
    /// Stale entries are dropped when the map reaches this size.
    prune_at: usize,
}

impl KeyCache {
    /// A cache whose entries are trusted for `ttl` (`None`: until forgotten).
    pub fn new(ttl: Option<Duration>) -> Self {
        KeyCache {
            ttl,
            ..KeyCache::default()
        }
    }

    /// The key whose secret has `digest`, if remembered and still trusted.
    pub fn get(&self, digest: &SecretDigest) -> Lookup {
        let entries = self.lock();
        let Some(entry) = entries.by_digest.get(digest) else {
            return Lookup::Missing;
        };
        let Some(ttl) = self.ttl else {
            return Lookup::Fresh(entry.key.clone());
        };
        let age = entry.read_at.elapsed();
        if age >= ttl {
            Lookup::Missing
        } else if age >= ttl / 2 && !entry.refreshing.swap(true, Ordering::Relaxed) {
            Lookup::Stale(entry.key.clone())
        } else {
            Lookup::Fresh(entry.key.clone())
        }
    }

    /// The generation a read that begins now belongs to (see [`Self::insert`]).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Remembers `key` under `digest`, read now, by a read that began in `generation`: unless
    /// a change came since.
    pub fn insert(&self, digest: SecretDigest, key: Arc<KeyRecord>, generation: u64) {
        let mut entries = self.lock();
        // Under the lock: a change moves the generation before it empties the map.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.by_digest.len() >= entries.prune_at.max(PRUNE_FROM) {
            // Stale entries of keys no longer used would otherwise stay for good.
            entries
                .by_digest
                .retain(|_, entry| self.ttl.is_none_or(|ttl| entry.read_at.elapsed() < ttl));
            if entries.by_digest.len() >= MOST_KEYS {
                entries.by_digest.clear();
            }
            entries.prune_at = entries.by_digest.len().saturating_mul(2);
        }
        let entry = Entry {
            key,
            read_at: Instant::now(),
            refreshing: AtomicBool::new(false),
        };
        entries.by_digest.insert(digest, entry);
    }

    /// Forgets key `id` (changed or deleted).
    pub fn forget(&self, id: &str) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.by_digest.retain(|_, entry| entry.key.id != id);
    }

    /// Forgets every key (a team or an account changed: what it imposes is read with the key).
    pub fn clear(&self) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.by_digest.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Hashes a secret digest by its first eight bytes: they are uniformly random already, and
/// nobody can choose them (that would take a SHA-256 preimage), so no other hashing is needed.
#[derive(Debug, Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only digests are hashed, through `write_u64`; anything else still hashes well.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

impl Hash for SecretDigest {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut first = [0; 8];
        first.copy_from_slice(&self.bytes()[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::books::tests::key;
    use crate::keys::SecretDigest;

    fn cached(key: KeyRecord) -> Arc<KeyRecord> {
        Arc::new(key)
    }

    #[test]
    fn a_shared_database_s_key_is_trusted_for_its_ttl_only() {
        let h = SecretDigest::of("h");
        let forever = KeyCache::new(None);
        forever.insert(h, cached(key(None)), forever.generation());
        assert_eq!(forever.get(&h), Lookup::Fresh(cached(key(None))));
        let expired = KeyCache::new(Some(Duration::ZERO));
        expired.insert(h, cached(key(None)), 0);
        assert_eq!(expired.get(&h), Lookup::Missing);
        let brief = KeyCache::new(Some(Duration::from_secs(60)));
        brief.insert(h, cached(key(None)), 0);
        assert_eq!(brief.get(&h), Lookup::Fresh(cached(key(None))));
        brief.forget("k");
        assert_eq!(brief.get(&h), Lookup::Missing);
    }

    #[test]
    fn one_caller_reads_a_key_again_once_half_its_trust_is_spent() {
        let h = SecretDigest::of("h");
        let cache = KeyCache::new(Some(Duration::from_millis(40)));
        cache.insert(h, cached(key(None)), 0);
        std::thread::sleep(Duration::from_millis(25));
        assert_eq!(cache.get(&h), Lookup::Stale(cached(key(None))));
        assert_eq!(cache.get(&h), Lookup::Fresh(cached(key(None))), "once");
        cache.insert(h, cached(key(None)), 0);
        assert_eq!(
            cache.get(&h),
            Lookup::Fresh(cached(key(None))),
            "read again"
        );
    }

    #[test]
    fn a_read_begun_before_a_change_is_not_remembered() {
        let h = SecretDigest::of("h");
        let cache = KeyCache::new(None);
        let before = cache.generation();
        cache.forget("k");
        cache.insert(h, cached(key(None)), before);
        assert_eq!(cache.get(&h), Lookup::Missing);
        cache.insert(h, cached(key(None)), cache.generation());
        assert!(matches!(cache.get(&h), Lookup::Fresh(_)));
    }

    #[test]
    fn stale_entries_are_dropped_as_the_cache_grows() {
        let cache = KeyCache::new(Some(Duration::ZERO));
        for n in 0..3 * PRUNE_FROM {
            cache.insert(SecretDigest::of(&n.to_string()), cached(key(None)), 0);
        }
        assert!(cache.lock().by_digest.len() <= PRUNE_FROM);
    }
}
