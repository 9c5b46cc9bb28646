//! The in-process store: entries bounded by their total size, the least recently used evicted
//! first, each with its own expiry. Values are kept decoded (an `Arc` is handed out), so a hit
//! parses nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::key::CacheKey;

/// What an entry costs beside its value: its key and bookkeeping.
const ENTRY_OVERHEAD: usize = 160;

/// Entries in this process, at most `max_bytes` of them.
#[derive(Debug)]
pub struct MemoryStore<V> {
    max_bytes: usize,
    inner: Mutex<Lru<V>>,
}

#[derive(Debug)]
struct Lru<V> {
    entries: HashMap<CacheKey, Slot<V>>,
    /// Keys by last use, oldest first.
    order: BTreeMap<u64, CacheKey>,
    tick: u64,
    bytes: usize,
}

#[derive(Debug)]
struct Slot<V> {
    value: V,
    /// The value's size as stored, in bytes.
    size: usize,
    expires: Instant,
    used: u64,
}

/// What a store did to make room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    /// Entries evicted for room.
    pub evicted: u64,
}

impl<V: Clone> MemoryStore<V> {
    /// An empty store of at most `max_bytes`.
    pub fn new(max_bytes: usize) -> MemoryStore<V> {
        MemoryStore {
            max_bytes,
            inner: Mutex::new(Lru {
                entries: HashMap::new(),
                order: BTreeMap::new(),
                tick: 0,
                bytes: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Lru<V>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live entry at `key`, marked as just used.
    pub fn get(&self, key: &CacheKey) -> Option<V> {
        let mut lru = self.lock();
        let now = Instant::now();
        let expired = lru.entries.get(key)?.expires <= now;
        if expired {
            lru.remove(key);
            return None;
        }
        lru.tick += 1;
        let tick = lru.tick;
        let slot = lru.entries.get_mut(key)?;
        let previous = std::mem::replace(&mut slot.used, tick);
        let value = slot.value.clone();
        lru.order.remove(&previous);
        lru.order.insert(tick, key.clone());
        Some(value)
    }

    /// Stores `value` (of `size` bytes as stored) at `key` for `ttl`, evicting the least
    /// recently used entries for room. A value larger than the whole store is not stored.
    pub fn put(&self, key: CacheKey, value: V, size: usize, ttl: Duration) -> Stored {
        let size = size + ENTRY_OVERHEAD;
        if size > self.max_bytes {
            return Stored::default();
        }
        let mut lru = self.lock();
        lru.remove(&key);
        let mut evicted = 0;
        while lru.bytes + size > self.max_bytes {
            let Some((_, oldest)) = lru.order.pop_first() else {
                break;
            };
            lru.remove(&oldest);
            evicted += 1;
        }
        lru.tick += 1;
        let tick = lru.tick;
        lru.order.insert(tick, key.clone());
        lru.bytes += size;
        lru.entries.insert(
            key,
            Slot {
                value,
                size,
                expires: Instant::now() + ttl,
                used: tick,
            },
        );
        Stored { evicted }
    }

    /// Removes every entry of the account tagged `account` (every entry: `None`); how many.
    pub fn clear(&self, account: Option<&str>) -> u64 {
        let mut lru = self.lock();
        let doomed: Vec<CacheKey> = lru
            .entries
            .keys()
            .filter(|key| account.is_none_or(|tag| key.account == tag))
            .cloned()
            .collect();
        for key in &doomed {
            lru.remove(key);
        }
        doomed.len() as u64
    }

    /// The entries' total size, in bytes, and their count.
    pub fn size(&self) -> (usize, usize) {
        let lru = self.lock();
        (lru.bytes, lru.entries.len())
    }
}

impl<V> Lru<V> {
    fn remove(&mut self, key: &CacheKey) {
        if let Some(slot) = self.entries.remove(key) {
            self.order.remove(&slot.used);
            self.bytes -= slot.size;
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn put(store: &MemoryStore<Bytes>, key: CacheKey, value: Bytes, ttl: Duration) -> Stored {
        let size = value.len();
        store.put(key, value, size, ttl)
    }

    fn key(digest: &str) -> CacheKey {
        CacheKey {
            account: "a".to_owned(),
            digest: digest.to_owned(),
        }
    }

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let store = MemoryStore::new(3 * (100 + ENTRY_OVERHEAD));
        for name in ["1", "2", "3"] {
            let stored = put(&store, key(name), Bytes::from(vec![0; 100]), LONG);
            assert_eq!(stored.evicted, 0);
        }
        assert!(store.get(&key("1")).is_some());
        assert_eq!(
            put(&store, key("4"), Bytes::from(vec![0; 100]), LONG).evicted,
            1
        );
        assert!(store.get(&key("2")).is_none(), "the oldest unused went");
        assert!(store.get(&key("1")).is_some());
        assert_eq!(store.size(), (3 * (100 + ENTRY_OVERHEAD), 3));
    }

    #[test]
    fn too_large_values_are_not_stored_and_clearing_is_per_account() {
        let store = MemoryStore::new(1000);
        put(&store, key("big"), Bytes::from(vec![0; 1000]), LONG);
        assert!(store.get(&key("big")).is_none());
        put(&store, key("x"), Bytes::from_static(b"1"), LONG);
        let other = CacheKey {
            account: "b".to_owned(),
            digest: "y".to_owned(),
        };
        put(&store, other.clone(), Bytes::from_static(b"2"), LONG);
        assert_eq!(store.clear(Some("a")), 1);
        assert!(store.get(&other).is_some());
        assert_eq!(store.clear(None), 1);
        assert_eq!(store.size(), (0, 0));
    }

    #[test]
    fn entries_expire() {
        let store = MemoryStore::new(10_000);
        put(
            &store,
            key("x"),
            Bytes::from_static(b"1"),
            Duration::from_millis(50),
        );
        put(&store, key("y"), Bytes::from_static(b"1"), LONG);
        assert!(store.get(&key("x")).is_some());
        std::thread::sleep(Duration::from_millis(80));
        assert!(store.get(&key("x")).is_none());
        assert!(store.get(&key("y")).is_some());
        store.clear(None);
        assert_eq!(store.size(), (0, 0));
    }
}
