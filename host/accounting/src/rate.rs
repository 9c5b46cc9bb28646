//! Per-key rate limits (and those of its team and account, shared by their keys), requests and
//! tokens per minute, as token buckets that refill
//! continuously (a full bucket is a minute's allowance). The buckets live in the gateway's memory,
//! or in Redis when `accounting.redis_url` is set so that several gateways share them.
//!
//! A request takes one request from its key's bucket and needs its tokens bucket not to be in
//! debt; its actual tokens are taken once it is settled. When Redis cannot be reached requests
//! are let through (logged): rate limits protect capacity, while money limits stay exact in the
//! database.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::time::Instant;

use super::scope::EndUserRules;
use super::store::KeyRecord;

/// A full bucket refills in this many milliseconds.
const WINDOW_MS: f64 = 60_000.0;

/// Takes `cost` from bucket `KEYS[1]` (capacity `ARGV[1]`) if it holds at least `ARGV[3]`;
/// returns -1, or the milliseconds until it would. Redis's clock serves every gateway.
const TAKE_SCRIPT: &str = r"
local capacity = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local need = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
level = math.min(capacity, level + math.max(0, now - at) * capacity / 60000)
if level < need then
  return math.ceil((need - level) * 60000 / capacity)
end
redis.call('HSET', KEYS[1], 'level', tostring(level - cost), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000 + math.ceil(math.max(0, cost - level) * 60000 / capacity))
return -1
";

/// The buckets of `key`'s limits: its account's, its team's and its own, with their
/// requests and tokens per minute; only those with a limit.
fn buckets(key: &KeyRecord) -> impl Iterator<Item = (String, Option<i64>, Option<i64>)> + '_ {
    let scope = &key.scope;
    let limited = |requests: Option<i64>, tokens: Option<i64>| requests.or(tokens).is_some();
    let account = (
        scope.account.requests_per_minute,
        scope.account.tokens_per_minute,
    );
    let team = scope.team.as_ref().map(|team| {
        (
            team.id.as_str(),
            team.requests_per_minute,
            team.tokens_per_minute,
        )
    });
    let own = (key.requests_per_minute, key.tokens_per_minute);
    let levels = [
        limited(account.0, account.1)
            .then(|| (format!("account:{}", key.account_id), account.0, account.1)),
        team.filter(|(_, requests, tokens)| limited(*requests, *tokens))
            .map(|(id, requests, tokens)| (format!("team:{id}"), requests, tokens)),
        limited(own.0, own.1).then(|| (key.id.clone(), own.0, own.1)),
    ];
    levels.into_iter().flatten()
}

/// Where the buckets are.
pub enum RateLimiter {
    /// In this process.
    Memory(Mutex<HashMap<String, Bucket>>),
    /// In Redis, shared by every gateway using it; the longest a request waits for Redis to
    /// answer (then it is let through).
    Redis(ConnectionManager, redis::Script, Duration),
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            RateLimiter::Memory(_) => "RateLimiter::Memory",
            RateLimiter::Redis(..) => "RateLimiter::Redis",
        })
    }
}

/// A bucket in memory.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    level: f64,
    at: Instant,
}

impl RateLimiter {
    /// Buckets in Redis at `url`, or in memory without one. A request waits at most `timeout`
    /// for Redis to connect or to answer; then it is let through.
    pub async fn connect(
        url: Option<&str>,
        timeout: Duration,
    ) -> Result<RateLimiter, redis::RedisError> {
        match url {
            Some(url) => {
                let client = redis::Client::open(url)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(timeout)
                    .set_response_timeout(timeout)
                    .set_number_of_retries(1);
                let connection = ConnectionManager::new_with_config(client, config).await?;
                Ok(RateLimiter::Redis(
                    connection,
                    redis::Script::new(TAKE_SCRIPT),
                    timeout,
                ))
            }
            None => Ok(RateLimiter::Memory(Mutex::new(HashMap::new()))),
        }
    }

    /// Lets a request of `key` through, or says in how many seconds it would be (the
    /// limits of its account, its team and itself, in that order).
    pub async fn admit(&self, key: &KeyRecord) -> Result<(), u64> {
        for (bucket, requests, tokens) in buckets(key) {
            if let Some(capacity) = requests {
                self.take(&format!("{bucket}:requests"), capacity, 1.0, 1.0)
                    .await?;
            }
            if let Some(capacity) = tokens {
                self.take(&format!("{bucket}:tokens"), capacity, 0.0, 1.0)
                    .await?;
            }
        }
        Ok(())
    }

    /// Lets a request of the end user whose buckets are `bucket` through (its account's
    /// `rules`), or says in how many seconds it would be.
    pub async fn admit_bucket(&self, bucket: &str, rules: &EndUserRules) -> Result<(), u64> {
        if let Some(capacity) = rules.requests_per_minute {
            self.take(&format!("{bucket}:requests"), capacity, 1.0, 1.0)
                .await?;
        }
        if let Some(capacity) = rules.tokens_per_minute {
            self.take(&format!("{bucket}:tokens"), capacity, 0.0, 1.0)
                .await?;
        }
        Ok(())
    }

    /// Takes the `tokens` a request of `key` used, and of its end user's `bucket` if any (the
    /// buckets may go into debt).
    pub async fn spend_tokens(&self, key: &KeyRecord, tokens: u64, bucket: Option<&str>) {
        let end_user = bucket.and_then(|bucket| {
            let capacity = key.scope.end_users.tokens_per_minute?;
            Some((bucket.to_owned(), None, Some(capacity)))
        });
        for (bucket, _, capacity) in buckets(key).chain(end_user) {
            if let Some(capacity) = capacity {
                let name = format!("{bucket}:tokens");
                let _ = self.take(&name, capacity, tokens as f64, 0.0).await;
            }
        }
    }

    /// Takes `cost` from bucket `name` if it holds at least `need`; else the seconds to wait.
    async fn take(&self, name: &str, capacity: i64, cost: f64, need: f64) -> Result<(), u64> {
        let capacity = capacity.max(1) as f64;
        let wait_ms = match self {
            RateLimiter::Memory(buckets) => {
                let mut buckets = buckets.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                let bucket = buckets.entry(name.to_owned()).or_insert(Bucket {
                    level: capacity,
                    at: now,
                });
                let elapsed = now.duration_since(bucket.at).as_secs_f64() * 1000.0;
                let level = capacity.min(bucket.level + elapsed * capacity / WINDOW_MS);
                if level < need {
                    ((need - level) * WINDOW_MS / capacity).ceil() as i64
                } else {
                    *bucket = Bucket {
                        level: level - cost,
                        at: now,
                    };
                    -1
                }
            }
            RateLimiter::Redis(connection, script, timeout) => {
                let mut connection = connection.clone();
                let mut invocation = script.key(format!("switchyard:rate:{name}"));
                invocation.arg(capacity).arg(cost).arg(need);
                let answer = invocation.invoke_async::<i64>(&mut connection);
                match tokio::time::timeout(*timeout, answer).await {
                    Ok(Ok(wait_ms)) => wait_ms,
                    Ok(Err(error)) => {
                        tracing::error!(%error, "Redis unreachable: rate limits not applied");
                        -1
                    }
                    Err(_) => {
                        tracing::error!(?timeout, "Redis did not answer: rate limits not applied");
                        -1
                    }
                }
            }
        };
        match u64::try_from(wait_ms) {
            Ok(wait_ms) => Err(wait_ms.div_ceil(1000).max(1)),
            Err(_) => Ok(()),
        }
    }
}
