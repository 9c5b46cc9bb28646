//! Live endpoint statistics shared by the gateways using one Redis. Every tick a background task
//! publishes this gateway's window figures per endpoint (model id and provider) under its
//! instance id, with a time to live of a few ticks so a stopped gateway's figures expire, and
//! reads the figures of the other live gateways, which every endpoint's snapshot then counts
//! with its own (see [`switchyard_health::stats::summary`]). One script call, one round trip, per tick;
//! nothing on the request path. While Redis cannot be reached the gateway logs it and, once the
//! figures it holds are older than their time to live, routes on its own figures only.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use tokio::time::{Instant, MissedTickBehavior};

use crate::{Catalog, Endpoint};
use switchyard_domain::config::SharedStatsConfig;
use switchyard_health::stats::summary::WindowSummary;

/// A gateway's figures live this many ticks.
const TTL_TICKS: u32 = 5;

/// At most one warning per this long while Redis stays unreachable.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Stores this gateway's figures (`ARGV[4]`) as `<prefix>:gateway:<id>`, marks the gateway live
/// in `<prefix>:gateways` (scored by Redis's clock, which serves every gateway), forgets
/// gateways silent for longer than the time to live, and returns the other live gateways'
/// figures.
const TICK_SCRIPT: &str = r"
local prefix = ARGV[1]
local me = ARGV[2]
local ttl = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local live = prefix .. ':gateways'
redis.call('SET', prefix .. ':gateway:' .. me, ARGV[4], 'PX', ttl)
redis.call('ZADD', live, now, me)
redis.call('ZREMRANGEBYSCORE', live, '-inf', now - ttl)
redis.call('PEXPIRE', live, ttl)
local others = {}
for _, id in ipairs(redis.call('ZRANGE', live, 0, -1)) do
  if id ~= me then
    local figures = redis.call('GET', prefix .. ':gateway:' .. id)
    if figures then
      table.insert(others, figures)
    end
  end
end
return others
";

/// Why a tick did not exchange figures.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Redis refused or could not be reached.
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The figures could not be encoded.
    #[error("encoding the figures: {0}")]
    Encode(#[from] serde_json::Error),
    /// Redis did not answer within a tick.
    #[error("Redis did not answer within {0:?}")]
    TimedOut(Duration),
}

/// One endpoint's figures as published.
#[derive(Debug, Serialize, Deserialize)]
struct PublishedFigures {
    model: String,
    provider: String,
    figures: WindowSummary,
}

/// An endpoint whose figures are shared.
struct Shared {
    model: String,
    provider: String,
    endpoint: Arc<Endpoint>,
}

/// The sharing task's state.
pub struct StatsSync {
    endpoints: Vec<Shared>,
    /// Index in `endpoints` by (model id, provider).
    index: HashMap<(String, String), usize>,
    client: redis::Client,
    connection: Option<ConnectionManager>,
    script: redis::Script,
    prefix: String,
    instance: String,
    interval: Duration,
    ttl: Duration,
    /// When the last exchange succeeded.
    last_exchange: Option<Instant>,
    /// When Redis was last reported unreachable, while it stays so.
    last_warning: Option<Instant>,
}

impl StatsSync {
    /// Sharing the figures of every endpoint of `catalog` through the Redis at `url`. Fails only
    /// on a malformed URL: Redis is first contacted by the task.
    pub fn new(
        catalog: &Catalog,
        url: &str,
        config: &SharedStatsConfig,
    ) -> Result<StatsSync, SyncError> {
        let endpoints: Vec<Shared> = catalog
            .models()
            .flat_map(|model| {
                model.endpoints.iter().map(|endpoint| Shared {
                    model: model.id.clone(),
                    provider: endpoint.provider.name.clone(),
                    endpoint: endpoint.clone(),
                })
            })
            .collect();
        let index = endpoints
            .iter()
            .enumerate()
            .map(|(at, shared)| ((shared.model.clone(), shared.provider.clone()), at))
            .collect();
        let interval = Duration::from_millis(config.interval_ms);
        Ok(StatsSync {
            endpoints,
            index,
            client: redis::Client::open(url)?,
            connection: None,
            script: redis::Script::new(TICK_SCRIPT),
            prefix: config.key_prefix.clone(),
            instance: format!("{:016x}", rand::random::<u64>()),
            interval,
            ttl: interval * TTL_TICKS,
            last_exchange: None,
            last_warning: None,
        })
    }

    /// Runs the task in the background for the life of the process.
    pub fn spawn(self) {
        tracing::info!(instance = %self.instance, prefix = %self.prefix, "sharing live endpoint statistics through Redis");
        tokio::spawn(self.run());
    }

    async fn run(mut self) {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.tick().await;
        }
    }

    /// Publishes this gateway's figures, takes in the others', or copes with Redis's absence.
    async fn tick(&mut self) {
        let exchanged = tokio::time::timeout(self.interval, self.exchange())
            .await
            .unwrap_or(Err(SyncError::TimedOut(self.interval)));
        match exchanged {
            Ok(others) => {
                self.take_in(&others);
                self.last_exchange = Some(Instant::now());
                if self.last_warning.take().is_some() {
                    tracing::info!("shared statistics: Redis reachable again");
                }
            }
            Err(error) => self.exchange_failed(&error),
        }
    }

    /// One round trip: this gateway's figures out, the other live gateways' in.
    async fn exchange(&mut self) -> Result<Vec<String>, SyncError> {
        let mut connection = match &self.connection {
            Some(connection) => connection.clone(),
            None => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(self.interval)
                    .set_response_timeout(self.interval)
                    .set_number_of_retries(1);
                let connection =
                    ConnectionManager::new_with_config(self.client.clone(), config).await?;
                self.connection = Some(connection.clone());
                connection
            }
        };
        let payload = serde_json::to_string(&self.own_figures())?;
        let others = self
            .script
            .arg(&self.prefix)
            .arg(&self.instance)
            .arg(u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX))
            .arg(payload)
            .invoke_async(&mut connection)
            .await?;
        Ok(others)
    }

    /// This gateway's figures of every endpoint it has served or is serving.
    fn own_figures(&self) -> Vec<PublishedFigures> {
        self.endpoints
            .iter()
            .filter_map(|shared| {
                let figures = shared.endpoint.stats.local_summary();
                (!figures.is_empty()).then(|| PublishedFigures {
                    model: shared.model.clone(),
                    provider: shared.provider.clone(),
                    figures,
                })
            })
            .collect()
    }

    /// Sums the other gateways' figures per endpoint and hands each endpoint its sum.
    fn take_in(&self, others: &[String]) {
        let mut peers: Vec<Option<WindowSummary>> = vec![None; self.endpoints.len()];
        for payload in others {
            let published: Vec<PublishedFigures> = match serde_json::from_str(payload) {
                Ok(published) => published,
                Err(error) => {
                    tracing::debug!(%error, "ignoring another gateway's unreadable statistics");
                    continue;
                }
            };
            for entry in published {
                if let Some(&at) = self.index.get(&(entry.model, entry.provider)) {
                    peers[at] = Some(match &peers[at] {
                        Some(sum) => sum.merge(&entry.figures),
                        None => entry.figures,
                    });
                }
            }
        }
        for (shared, figures) in self.endpoints.iter().zip(peers) {
            shared.endpoint.stats.set_peer_figures(figures);
        }
    }

    /// Logs the failure (at most every [`LOG_EVERY`]) and drops the other gateways' figures once
    /// they are older than their time to live.
    fn exchange_failed(&mut self, error: &SyncError) {
        let now = Instant::now();
        if self
            .last_warning
            .is_none_or(|at| now.duration_since(at) >= LOG_EVERY)
        {
            tracing::warn!(%error, "shared statistics unavailable: routing on this gateway's figures");
            self.last_warning = Some(now);
        }
        if self
            .last_exchange
            .is_none_or(|at| now.duration_since(at) >= self.ttl)
        {
            for shared in &self.endpoints {
                shared.endpoint.stats.set_peer_figures(None);
            }
        }
    }
}
