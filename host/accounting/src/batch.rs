//! A batch of settlements reduced to the writes it makes: the charges of each account, of each
//! budget's and of each key's limit window summed, in the one order rows are locked everywhere
//! (each account, then its budgets, then its keys), so a batch of hundreds of settlements costs one update per account and per
//! key window instead of two per settlement.

use std::collections::BTreeMap;

use switchyard_domain::money::Nanos;

/// A charge of a budget row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BudgetCharge {
    /// The budget row.
    pub id: String,
    /// Unix second its window starts at, for a charge that may start a new window (`None`: the
    /// hold started it already).
    pub window_start: Option<i64>,
    /// Whether the cost is charged to it (a model budget not covering the model that served
    /// only releases its hold).
    #[serde(default = "charged")]
    pub charged: bool,
}

/// A charge spooled before budgets on models existed charged its budget.
fn charged() -> bool {
    true
}

/// What one settlement moves: its `released` hold and its `cost`, charged to `account_id` and
/// to `key_id` in the limit window starting at `window_start` (`None`: no window change).
#[derive(Debug, Clone, Copy)]
pub struct Charged<'a> {
    /// The account charged.
    pub account_id: &'a str,
    /// The key charged.
    pub key_id: &'a str,
    /// The budgets (of the key's team and account) charged.
    pub budgets: &'a [BudgetCharge],
    /// The hold released in the database (0 when it was kept in memory).
    pub released: Nanos,
    /// The charge.
    pub cost: Nanos,
    /// Unix second the key's limit window starts at, for charges that may start a new window.
    pub window_start: Option<i64>,
}

/// The summed charges of one account, then of its keys' windows, in lock order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AccountWrites<'a> {
    /// Holds released from the account.
    pub released: Nanos,
    /// Usage added to the account.
    pub usage: Nanos,
    /// Per budget and window (ascending).
    pub budgets: BTreeMap<(&'a str, Option<i64>), KeyWrites>,
    /// Per key and window (ascending, so a window that starts later is applied last).
    pub keys: BTreeMap<(&'a str, Option<i64>), KeyWrites>,
}

/// The summed charges of one key (or budget) in one limit window.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub struct KeyWrites {
    /// Holds released from the key.
    pub released: Nanos,
    /// Usage added to the key (and to its window).
    pub usage: Nanos,
}

/// Sums `charges` per account (ascending) and per key window. Sums saturate: a settlement is
/// already clamped to its hold, so a saturated sum would mean the books are far out of range.
pub fn writes<'a>(
    charges: impl IntoIterator<Item = Charged<'a>>,
) -> BTreeMap<&'a str, AccountWrites<'a>> {
    let mut accounts: BTreeMap<&str, AccountWrites> = BTreeMap::new();
    for charge in charges {
        let account = accounts.entry(charge.account_id).or_default();
        account.released = account.released.saturating_add(charge.released);
        account.usage = account.usage.saturating_add(charge.cost);
        let key = account
            .keys
            .entry((charge.key_id, charge.window_start))
            .or_default();
        key.released = key.released.saturating_add(charge.released);
        key.usage = key.usage.saturating_add(charge.cost);
        for budget in charge.budgets {
            let writes = account
                .budgets
                .entry((budget.id.as_str(), budget.window_start))
                .or_default();
            writes.released = writes.released.saturating_add(charge.released);
            if budget.charged {
                writes.usage = writes.usage.saturating_add(charge.cost);
            }
        }
    }
    accounts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(
        account_id: &'static str,
        key_id: &'static str,
        cost: Nanos,
        window: Option<i64>,
    ) -> Charged<'static> {
        Charged {
            account_id,
            key_id,
            budgets: &[],
            released: cost,
            cost,
            window_start: window,
        }
    }

    #[test]
    fn charges_are_summed_per_account_and_key_window_in_lock_order() {
        let accounts = writes([
            charge("b", "k3", 5, Some(100)),
            charge("a", "k2", 1, Some(100)),
            charge("a", "k1", 2, Some(200)),
            charge("a", "k1", 3, Some(100)),
            charge("a", "k1", 4, Some(100)),
        ]);
        let order: Vec<&str> = accounts.keys().copied().collect();
        assert_eq!(order, ["a", "b"]);
        let a = &accounts["a"];
        assert_eq!((a.released, a.usage), (10, 10));
        let keys: Vec<_> = a.keys.iter().map(|(k, w)| (*k, w.usage)).collect();
        assert_eq!(
            keys,
            [
                (("k1", Some(100)), 7),
                (("k1", Some(200)), 2),
                (("k2", Some(100)), 1)
            ]
        );
        assert_eq!(accounts["b"].keys[&("k3", Some(100))].released, 5);
    }

    #[test]
    fn sums_saturate() {
        let accounts = writes([
            charge("a", "k", Nanos::MAX / 2, None),
            charge("a", "k", Nanos::MAX / 2, None),
            charge("a", "k", Nanos::MAX / 2, None),
        ]);
        assert_eq!(accounts["a"].usage, Nanos::MAX);
        assert_eq!(accounts["a"].released, Nanos::MAX);
    }
}
