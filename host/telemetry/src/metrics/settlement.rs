//! What the accounting settler records, off the request path: each settlement's lag from
//! queued to committed (`switchyard.settlement.lag`).

use std::time::Duration;

use super::get;

/// Records the lags of the settlements one commit made durable.
pub fn committed(lags: impl IntoIterator<Item = Duration>) {
    if let Some(metrics) = get() {
        for lag in lags {
            (metrics.instruments.settlement_lag).record(lag.as_secs_f64(), &[]);
        }
    }
}
