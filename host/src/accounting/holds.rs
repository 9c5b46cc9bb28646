//! Where a request's hold is taken and its settlement goes: in memory with the durable log
//! behind ([`Books`], the embedded SQLite database owned by this gateway), or in the database
//! itself (PostgreSQL, shared by several gateways: a hold is a conditional update there, so
//! that together they can never overspend).

use std::sync::Arc;

use super::books::Books;
use super::money::now;
use super::settler::{Settlement, Settler};
use super::store::{GenerationRecord, KeyRecord, Refusal, Reservation, Store, StoreError};

/// Holds and settlements of every request.
#[derive(Debug, Clone)]
pub struct Holds {
    store: Store,
    settler: Settler,
    /// The balances in memory, when this gateway owns the database.
    books: Option<Arc<Books>>,
}

impl Holds {
    /// Holds on `store` (in `books` when given), settlements logged by `settler`.
    pub fn new(store: Store, settler: Settler, books: Option<Arc<Books>>) -> Holds {
        Holds {
            store,
            settler,
            books,
        }
    }

    /// Holds `amount` against `key`'s limit and its account's credits, both or neither.
    pub async fn reserve(
        &self,
        key: &KeyRecord,
        amount: i64,
    ) -> Result<Result<Reservation, Refusal>, StoreError> {
        let Some(books) = &self.books else {
            return self.store.reserve(key, amount).await;
        };
        if !books.has_account(&key.account_id) {
            match self.store.account(&key.account_id).await? {
                Some(account) => books.load_account(account),
                None => return Ok(Err(Refusal::Credits)),
            }
        }
        Ok(books.reserve(key, amount, now()))
    }

    /// Charges `record` and releases `reservation`: at once in memory, durably within the
    /// settlement lag.
    pub async fn settle(&self, reservation: Reservation, record: GenerationRecord) {
        let settlement = match &self.books {
            Some(books) => {
                let window_start = books.settle(&reservation, record.cost, record.created_at);
                Settlement::Logged(record, window_start)
            }
            None => Settlement::Held(reservation, record),
        };
        self.settler.settle(settlement).await;
    }

    /// Releases `reservation` without charging, when that needs no database; `false` when it
    /// does ([`Holds::release`]).
    pub fn release_in_memory(&self, reservation: &Reservation) -> bool {
        match &self.books {
            Some(books) => {
                books.release(reservation);
                true
            }
            None => false,
        }
    }

    /// Releases `reservation` without charging.
    pub async fn release(&self, reservation: &Reservation) {
        if self.release_in_memory(reservation) {
            return;
        }
        if let Err(error) = self.store.release(reservation).await {
            tracing::error!(reservation = %reservation.id, %error, "cannot release a hold; the reservation sweep will");
        }
    }
}
