//! Amounts of money as whole nano-USD (what the ledger stores) and the calendar of limit resets.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::pricing::MONEY_DECIMALS;

/// Whole nano-USD (10⁻⁹ USD): the unit every amount is stored in.
pub type Nanos = i64;

/// `usd` in nano-USD, rounded up to the next nano (never under-charged); `None` when out of
/// range.
pub fn to_nanos(usd: Decimal) -> Option<Nanos> {
    let scaled = usd
        .round_dp_with_strategy(MONEY_DECIMALS, rust_decimal::RoundingStrategy::AwayFromZero)
        .checked_mul(Decimal::from(1_000_000_000_i64))?;
    i64::try_from(scaled.trunc()).ok()
}

/// `nanos` as decimal USD.
pub fn to_usd(nanos: Nanos) -> Decimal {
    Decimal::new(nanos, MONEY_DECIMALS).normalize()
}

/// `nanos` as a JSON number of USD.
pub fn usd_json(nanos: Nanos) -> serde_json::Value {
    to_usd(nanos)
        .to_string()
        .parse::<serde_json::Number>()
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// When a key's spending limit starts over (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitReset {
    /// At midnight.
    Daily,
    /// On Monday at midnight.
    Weekly,
    /// On the first of the month at midnight.
    Monthly,
}

impl LimitReset {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitReset::Daily => "daily",
            LimitReset::Weekly => "weekly",
            LimitReset::Monthly => "monthly",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<LimitReset> {
        match text {
            "daily" => Some(LimitReset::Daily),
            "weekly" => Some(LimitReset::Weekly),
            "monthly" => Some(LimitReset::Monthly),
            _ => None,
        }
    }

    /// Unix seconds at which the window holding `now` (unix seconds) began.
    pub fn window_start(self, now: i64) -> i64 {
        let day = now.div_euclid(DAY);
        match self {
            LimitReset::Daily => day * DAY,
            // 1970-01-01 was a Thursday: three days after a Monday.
            LimitReset::Weekly => (day - (day + 3).rem_euclid(7)) * DAY,
            LimitReset::Monthly => {
                let (year, month, _) = civil_from_days(day);
                days_from_civil(year, month, 1) * DAY
            }
        }
    }
}

const DAY: i64 = 86_400;

/// (year, month 1..=12, day 1..=31) of a count of days since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn amounts_round_up_to_the_nano() {
        let d = |text: &str| Decimal::from_str(text).expect("decimal");
        assert_eq!(to_nanos(d("0.00980175")), Some(9_801_750));
        assert_eq!(to_nanos(d("0.0000000001")), Some(1));
        assert_eq!(to_nanos(d("12.5")), Some(12_500_000_000));
        assert_eq!(to_usd(9_801_750), d("0.00980175"));
        assert_eq!(usd_json(1).as_f64(), Some(1e-9));
    }

    #[test]
    fn windows_start_at_utc_midnight_monday_and_the_first() {
        // 2026-11-25 13:14:15 UTC is a Wednesday.
        let now = 1_795_612_455;
        assert_eq!(LimitReset::Daily.window_start(now), 1_795_564_800); // 2026-11-25
        assert_eq!(LimitReset::Weekly.window_start(now), 1_795_392_000); // Monday 2026-11-23
        assert_eq!(LimitReset::Monthly.window_start(now), 1_793_491_200); // 2026-11-01
        // 2024-03-01 00:00:00 UTC (after a leap day) starts its own month.
        assert_eq!(
            LimitReset::Monthly.window_start(1_709_251_200),
            1_709_251_200
        );
        assert_eq!(
            LimitReset::Monthly.window_start(1_709_251_199),
            1_706_745_600
        );
    }
}
