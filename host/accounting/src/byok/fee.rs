//! What a call served on an account's own key costs the account: the BYOK fee, a share of what
//! the call would have cost (the upstream is paid by the account directly), and the hold of a
//! request that may be served so.

use rust_decimal::{Decimal, RoundingStrategy};

use super::AccountKeys;
use switchyard_domain::pricing::{Cost, MONEY_DECIMALS};
use switchyard_routing::Candidate;

/// The charge of a call served on the account's key whose cost would have been `cost`: `fee
/// percent` of its total, nothing upstream.
pub fn charged(cost: Cost, fee_percent: Decimal) -> Cost {
    if cost.total == Decimal::MAX {
        return cost; // out of range: the ledger charges the hold
    }
    let total = cost
        .total
        .checked_mul(fee_percent)
        .map_or(Decimal::MAX, |fee| {
            (fee / Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(MONEY_DECIMALS, RoundingStrategy::AwayFromZero)
                .normalize()
        });
    Cost {
        upstream: Decimal::ZERO,
        total,
    }
}

/// The hold of a request to `candidates` whose account has `keys`: the worst full price over
/// the endpoints the operator's credentials may serve, or the fee of the worst price over those
/// only the account's key serves (no fallback), whichever is larger. `worst` prices a group
/// (`None`: too large to be money, which the whole hold is then).
pub fn hold(
    keys: Option<&AccountKeys>,
    candidates: &[Candidate],
    worst: impl Fn(&[&Candidate]) -> Option<Decimal>,
) -> Option<Decimal> {
    let byok_only = |candidate: &&Candidate| {
        keys.and_then(|keys| keys.get(&candidate.endpoint.provider.name))
            .is_some_and(|key| !key.fallback)
    };
    let (own, full): (Vec<&Candidate>, Vec<&Candidate>) = candidates.iter().partition(byok_only);
    let Some(keys) = keys.filter(|_| !own.is_empty()) else {
        return worst(&full);
    };
    let own = charged(
        Cost {
            upstream: Decimal::ZERO,
            total: worst(&own)?,
        },
        keys.fee_percent,
    )
    .total;
    if full.is_empty() {
        return Some(own);
    }
    Some(worst(&full)?.max(own))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_is_a_share_of_the_total_and_nothing_upstream() {
        let cost = Cost {
            upstream: Decimal::new(100, 2),
            total: Decimal::new(105, 2),
        };
        let charged = charged(cost, Decimal::new(5, 0));
        assert_eq!(charged.total, Decimal::new(525, 4));
        assert_eq!(charged.upstream, Decimal::ZERO);
    }
}
