//! Where a request's hold is taken and its settlement goes: in memory either way. On the
//! embedded SQLite database, owned by this gateway, the balances themselves live in memory
//! ([`Books`]) with the durable log behind. On PostgreSQL, shared by several gateways, a hold is
//! taken from this gateway's lease of the key's room ([`Leases`]), which the database holds, so
//! that together they can never overspend.

use std::sync::Arc;
use std::time::Duration;

use super::batch::BudgetCharge;
use super::books::Books;
use super::lease::Leases;
use super::model_budgets;
use super::settler::Settler;
use super::store::{GenerationRecord, KeyRecord, Refusal, Reservation, Settlement, Store};
use switchyard_domain::money::now;
use switchyard_domain::store_error::StoreError;

/// Where the balances a hold is checked against are kept.
#[derive(Debug, Clone)]
pub enum Ledger {
    /// In memory: this gateway owns the database.
    Books(Arc<Books>),
    /// In the shared database, leased to this gateway key by key.
    Leases(Arc<Leases>),
}

/// Holds and settlements of every request.
#[derive(Debug, Clone)]
pub struct Holds {
    store: Store,
    settler: Settler,
    ledger: Ledger,
}

impl Holds {
    /// Holds in `ledger` (accounts read from `store`), settlements logged by `settler`.
    pub fn new(store: Store, settler: Settler, ledger: Ledger) -> Holds {
        Holds {
            store,
            settler,
            ledger,
        }
    }

    /// Holds `amount` against `key`'s limit, `budgets` (its team's and account's, its end
    /// user's, its model budgets; ascending) and its account's credits, all or none.
    pub async fn reserve(
        &self,
        key: &KeyRecord,
        amount: i64,
        budgets: &Arc<[String]>,
    ) -> Result<Result<Reservation, Refusal>, StoreError> {
        let books = match &self.ledger {
            Ledger::Leases(leases) => return leases.reserve(key, amount, budgets).await,
            Ledger::Books(books) => books,
        };
        if !books.has_all(&key.account_id, budgets) {
            self.load(books, key, budgets).await?;
        }
        Ok(books.reserve(key, amount, budgets, now()))
    }

    /// Enters `key`'s account and `budgets` into `books` from the database, those not in them
    /// yet (an account that does not exist refuses the hold in [`Books::reserve`]).
    async fn load(
        &self,
        books: &Books,
        key: &KeyRecord,
        budgets: &[String],
    ) -> Result<(), StoreError> {
        if !books.has_account(&key.account_id)
            && let Some(account) = self.store.account(&key.account_id).await?
        {
            books.load_account(account);
        }
        for id in budgets {
            if !books.has_budget(id)
                && let Some(budget) = self.store.budget(id).await?
            {
                books.load_budget(&budget);
            }
        }
        Ok(())
    }

    /// Charges `record` and releases `reservation`: at once in memory, durably within the
    /// settlement lag.
    pub async fn settle(&self, reservation: Reservation, mut record: GenerationRecord) {
        let settlement = match &self.ledger {
            Ledger::Books(books) => {
                let (window_start, budgets) =
                    books.settle(&reservation, record.cost, record.created_at, &record.model);
                record.budgets = budgets;
                Settlement::Logged(record, window_start)
            }
            Ledger::Leases(leases) => {
                leases.settled(&reservation);
                record.budgets = (reservation.budgets.iter())
                    .map(|id| BudgetCharge {
                        id: id.clone(),
                        window_start: None,
                        charged: model_budgets::charges(id, &record.model),
                    })
                    .collect();
                Settlement::Held(reservation, record)
            }
        };
        self.settler.settle(settlement).await;
    }

    /// Releases `reservation` without charging.
    pub fn release(&self, reservation: &Reservation) {
        match &self.ledger {
            Ledger::Books(books) => books.release(reservation),
            Ledger::Leases(leases) => leases.release(reservation),
        }
    }

    /// Gives back the room leases hold and no request used for `idle` (none on the embedded
    /// database).
    pub async fn give_back_unused(&self, idle: Duration) {
        if let Ledger::Leases(leases) = &self.ledger {
            leases.give_back_unused(idle).await;
        }
    }
}
