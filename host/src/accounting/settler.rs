//! The durable log of settlements, written off the request path: a request queues its
//! settlement and goes on; one task commits what is queued, as many settlements per commit as
//! arrived since the previous one began, at most one commit per [`COMMIT_INTERVAL`] (group
//! commit, each commit synced to disk). A batch the
//! database refuses is retried one settlement at a time, so that one bad settlement cannot fail
//! the others.
//!
//! What this guarantees: a settlement is durable once the commit that follows its queueing
//! returns — the settlement lag, measured here. A gateway killed before that loses the
//! settlement: its charge is not made and its generation record is absent; its hold is
//! released (in memory on SQLite; by the reservation sweep on PostgreSQL, where the hold stays
//! in the database until its settlement commits, so that it can never be overspent).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::store::{GenerationRecord, Reservation, Store, StoreError};

/// Most settlements in one commit.
const MAX_BATCH: usize = 512;

/// Least time from one commit's start to the next's: a commit syncs the disk, and under load
/// fewer, larger groups cost the database (and the cores it shares with the gateway) less; the
/// settlement lag grows by this much at most.
const COMMIT_INTERVAL: Duration = Duration::from_millis(25);

/// Settlements queued at most; a request settling beyond waits for room.
const QUEUE: usize = 16_384;

/// How often a settlement the database refuses is tried.
const TRIES: u32 = 3;

/// Settlement lags kept for percentiles (the most recent ones).
const LAGS_KEPT: usize = 4_096;

/// One settlement to log.
#[derive(Debug, Clone)]
pub enum Settlement {
    /// A hold kept in the database: released and charged with the record in one commit.
    Held(Reservation, GenerationRecord),
    /// A hold kept in memory (already released): the record and its charge in the key's
    /// limit window starting at unix second `.1` (0 without a reset).
    Logged(GenerationRecord, i64),
}

impl Settlement {
    /// The generation record it stores.
    pub fn record(&self) -> &GenerationRecord {
        match self {
            Settlement::Held(_, record) | Settlement::Logged(record, _) => record,
        }
    }
}

enum Job {
    Settle(Box<Settlement>, Instant),
    Flush(oneshot::Sender<()>),
}

/// The queue of settlements to commit.
#[derive(Debug, Clone)]
pub struct Settler {
    queue: mpsc::Sender<Job>,
    lags: Arc<Mutex<Lags>>,
}

/// Recent settlement lags, oldest overwritten first.
#[derive(Debug, Default)]
struct Lags {
    kept: Vec<Duration>,
    next: usize,
}

impl Lags {
    fn add(&mut self, lag: Duration) {
        if self.kept.len() < LAGS_KEPT {
            self.kept.push(lag);
        } else {
            self.kept[self.next] = lag;
        }
        self.next = (self.next + 1) % LAGS_KEPT;
    }

    fn percentiles(&self, wanted: &[f64]) -> Vec<Duration> {
        let mut sorted = self.kept.clone();
        sorted.sort_unstable();
        wanted
            .iter()
            .map(|quantile| {
                let rank = (quantile * sorted.len() as f64).ceil() as usize;
                sorted
                    .get(rank.saturating_sub(1))
                    .copied()
                    .unwrap_or_default()
            })
            .collect()
    }
}

impl Settler {
    /// Starts the task that commits settlements to `store`.
    pub fn start(store: Store) -> Settler {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let lags = Arc::new(Mutex::new(Lags::default()));
        tokio::spawn(commit_batches(store, jobs, lags.clone()));
        Settler { queue, lags }
    }

    /// Queues `settlement`; it is durable within the settlement lag.
    pub async fn settle(&self, settlement: Settlement) {
        let id = settlement.record().id.clone();
        if self
            .queue
            .send(Job::Settle(Box::new(settlement), Instant::now()))
            .await
            .is_err()
        {
            tracing::error!(%id, "the settlement writer has stopped; settlement lost");
        }
    }

    /// Waits until every settlement queued before is committed (or given up).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, flushed) = oneshot::channel();
        self.queue
            .send(Job::Flush(done))
            .await
            .map_err(|_| StoreError::Stopped)?;
        flushed.await.map_err(|_| StoreError::Stopped)
    }

    /// The settlement lag (queued to committed) at each quantile of `wanted`, over the recent
    /// settlements.
    pub fn lag_percentiles(&self, wanted: &[f64]) -> Vec<Duration> {
        self.lags
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .percentiles(wanted)
    }
}

async fn commit_batches(store: Store, mut jobs: mpsc::Receiver<Job>, lags: Arc<Mutex<Lags>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let started = Instant::now();
        let mut settlements = Vec::with_capacity(batch.len());
        let mut queued = Vec::with_capacity(batch.len());
        let mut flushes = Vec::new();
        for job in batch.drain(..) {
            match job {
                Job::Settle(settlement, at) => {
                    settlements.push(*settlement);
                    queued.push(at);
                }
                Job::Flush(done) => flushes.push(done),
            }
        }
        commit(&store, &settlements).await;
        let committed = Instant::now();
        let batch_lags = queued.iter().map(|at| committed.duration_since(*at));
        {
            let mut lags = lags.lock().unwrap_or_else(PoisonError::into_inner);
            batch_lags.clone().for_each(|lag| lags.add(lag));
        }
        crate::metrics::settlement::committed(batch_lags);
        for done in flushes {
            let _ = done.send(());
        }
        tokio::time::sleep_until(started + COMMIT_INTERVAL).await;
    }
}

/// Commits `settlements` together, or one by one (with retries) when the database refuses them
/// together or some were committed before.
async fn commit(store: &Store, settlements: &[Settlement]) {
    if settlements.is_empty() || store.log_settlements(settlements).await.is_ok() {
        return;
    }
    for settlement in settlements {
        for attempt in 1..=TRIES {
            match store
                .log_settlements(std::slice::from_ref(settlement))
                .await
            {
                Ok(()) => break,
                Err(error) if attempt < TRIES => {
                    tracing::warn!(id = %settlement.record().id, %error, attempt, "settlement failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(error) => {
                    let record = settlement.record();
                    tracing::error!(id = %record.id, cost = record.cost, %error, "settlement failed; its charge is lost (a database hold stays until the reservation sweep)");
                }
            }
        }
    }
}
