//! The Redis store, shared by every gateway using the same Redis: an entry is a string at
//! `switchyard:cache:<account tag>:<digest>` with its time to live. A request waits at most
//! the configured timeout for Redis; an unreachable Redis is tried again at most once a second,
//! and meanwhile the cache is bypassed.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::time::Instant;

use super::key::CacheKey;

/// The prefix of every cache key in Redis.
const PREFIX: &str = "switchyard:cache";

/// How often an unreachable Redis is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Why Redis did not serve the cache.
#[derive(Debug, thiserror::Error)]
pub enum RedisStoreError {
    /// Redis refused or could not be reached.
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("Redis did not answer within {0:?}")]
    TimedOut(Duration),
    /// A recent connection attempt failed; the next waits.
    #[error("Redis is unreachable")]
    Unreachable,
}

/// Entries in Redis.
pub struct RedisStore {
    client: redis::Client,
    timeout: Duration,
    connection: Mutex<Connection>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisStore")
    }
}

/// The connection, or when it was last tried.
enum Connection {
    Open(ConnectionManager),
    Closed(Option<Instant>),
}

impl RedisStore {
    /// A store at `url` (connected on first use), waiting at most `timeout` for an answer.
    pub fn new(url: &str, timeout: Duration) -> Result<RedisStore, RedisStoreError> {
        Ok(RedisStore {
            client: redis::Client::open(url)?,
            timeout,
            connection: Mutex::new(Connection::Closed(None)),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, RedisStoreError> {
        {
            let mut state = self
                .connection
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match &*state {
                Connection::Open(connection) => return Ok(connection.clone()),
                Connection::Closed(Some(at)) if at.elapsed() < RETRY_EVERY => {
                    return Err(RedisStoreError::Unreachable);
                }
                Connection::Closed(_) => *state = Connection::Closed(Some(Instant::now())),
            }
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(1);
        let connecting = ConnectionManager::new_with_config(self.client.clone(), config);
        let connection = tokio::time::timeout(self.timeout, connecting)
            .await
            .map_err(|_| RedisStoreError::TimedOut(self.timeout))??;
        *self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Connection::Open(connection.clone());
        Ok(connection)
    }

    async fn timed<T>(
        &self,
        operation: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, RedisStoreError> {
        Ok(tokio::time::timeout(self.timeout, operation)
            .await
            .map_err(|_| RedisStoreError::TimedOut(self.timeout))??)
    }

    /// The entry at `key`, if any.
    pub async fn get(&self, key: &CacheKey) -> Result<Option<Bytes>, RedisStoreError> {
        let mut connection = self.connection().await?;
        let name = format!("{PREFIX}:{}", key.joined());
        let value: Option<Vec<u8>> = self.timed(connection.get(name)).await?;
        Ok(value.map(Bytes::from))
    }

    /// Stores `value` at `key` for `ttl`.
    pub async fn put(
        &self,
        key: &CacheKey,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), RedisStoreError> {
        let mut connection = self.connection().await?;
        let name = format!("{PREFIX}:{}", key.joined());
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.timed(connection.pset_ex::<_, _, ()>(name, value, millis))
            .await
    }

    /// Removes every entry of the account tagged `account` (every entry: `None`); how many.
    pub async fn clear(&self, account: Option<&str>) -> Result<u64, RedisStoreError> {
        let mut connection = self.connection().await?;
        let pattern = format!("{PREFIX}:{}:*", account.unwrap_or("*"));
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let (next, names): (u64, Vec<String>) = self
                .timed(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(500)
                        .query_async(&mut connection),
                )
                .await?;
            if !names.is_empty() {
                removed += self.timed(connection.del::<_, u64>(names)).await?;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }
}
