//! Group commit of settlements: requests that finish while a commit is being written are settled
//! together in the next one, so that many settlements share one write to disk. Each caller
//! still waits for its own commit; a batch the database refuses is retried one settlement at a
//! time, so that one bad settlement cannot fail the others.

use tokio::sync::{mpsc, oneshot};

use super::store::{GenerationRecord, Reservation, Store, StoreError};

/// Most settlements in one commit.
const MAX_BATCH: usize = 256;

/// One settlement and who waits for it.
type Job = (
    Reservation,
    GenerationRecord,
    oneshot::Sender<Result<(), StoreError>>,
);

/// The queue of settlements to commit.
#[derive(Debug, Clone)]
pub struct Settler {
    queue: mpsc::UnboundedSender<Job>,
}

impl Settler {
    /// Starts the task that commits settlements to `store`.
    pub fn start(store: Store) -> Settler {
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(commit_batches(store, jobs));
        Settler { queue }
    }

    /// Settles `reservation` with `record`; durable when this returns `Ok`.
    pub async fn settle(
        &self,
        reservation: Reservation,
        record: GenerationRecord,
    ) -> Result<(), StoreError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send((reservation, record, done))
            .map_err(|_| StoreError::Stopped)?;
        committed.await.map_err(|_| StoreError::Stopped)?
    }
}

async fn commit_batches(store: Store, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (settlements, waiting): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|(reservation, record, done)| ((reservation, record), done))
            .unzip();
        if settlements.len() > 1 && store.settle_all(&settlements).await.is_ok() {
            for done in waiting {
                let _ = done.send(Ok(()));
            }
            continue;
        }
        for ((reservation, record), done) in settlements.iter().zip(waiting) {
            let _ = done.send(store.settle(reservation, record).await);
        }
    }
}
