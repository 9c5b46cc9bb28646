//! The one circuit breaker, of endpoints (`routing.circuit_breaker`) and of plugin versions
//! (`plugins.circuit_breaker`): after `failures` consecutive failures it opens for `cooldown_ms`;
//! then it lets one probe through (half-open), and another only if that probe has not reported
//! back within a further cooldown. The probe's success closes it, its failure reopens it.
//! `failures = 0` disables it.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use switchyard_domain::config::BreakerConfig;

/// The breaker's state as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Serving normally.
    Closed,
    /// Refusing after consecutive failures.
    Open,
    /// One probe is being let through.
    HalfOpen,
}

#[derive(Debug, Default, Clone, Copy)]
enum Phase {
    #[default]
    Closed,
    Open {
        until: Instant,
    },
    HalfOpen {
        probe_since: Instant,
    },
}

#[derive(Debug, Default)]
struct State {
    consecutive: u32,
    phase: Phase,
}

/// A circuit breaker over one [`BreakerConfig`].
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: Mutex<State>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        CircuitBreaker {
            config,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cooldown(&self) -> Duration {
        Duration::from_millis(self.config.cooldown_ms)
    }

    /// Lets a call through, or says how long until the next probe may go.
    pub fn admit(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut state = self.state();
        match state.phase {
            Phase::Closed => Ok(()),
            Phase::Open { until } if now < until => Err(until - now),
            Phase::HalfOpen { probe_since } if now < probe_since + self.cooldown() => {
                Err(probe_since + self.cooldown() - now)
            }
            Phase::Open { .. } | Phase::HalfOpen { .. } => {
                state.phase = Phase::HalfOpen { probe_since: now };
                Ok(())
            }
        }
    }

    /// A call succeeded: the breaker closes.
    pub fn success(&self) {
        *self.state() = State::default();
    }

    /// A call failed; returns true when this failure opened the breaker.
    pub fn failure(&self) -> bool {
        let mut state = self.state();
        state.consecutive = state.consecutive.saturating_add(1);
        let open = match state.phase {
            Phase::HalfOpen { .. } | Phase::Open { .. } => true,
            Phase::Closed => self.config.failures > 0 && state.consecutive >= self.config.failures,
        };
        if !open {
            return false;
        }
        let opened_now = !matches!(state.phase, Phase::Open { .. });
        state.phase = Phase::Open {
            until: Instant::now() + self.cooldown(),
        };
        opened_now
    }

    /// Closed, open or half-open.
    pub fn current(&self) -> BreakerState {
        match self.state().phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(failures: u32, cooldown_ms: u64) -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failures,
            cooldown_ms,
        })
    }

    #[test]
    fn consecutive_failures_open_it_and_a_probe_closes_it() {
        let breaker = breaker(3, 0);
        breaker.failure();
        breaker.success();
        breaker.failure();
        breaker.failure();
        assert_eq!(breaker.current(), BreakerState::Closed);
        assert!(breaker.failure(), "the third consecutive failure opens it");
        assert_eq!(breaker.current(), BreakerState::Open);
        assert!(
            breaker.admit().is_ok(),
            "cooldown 0: the next call is the probe"
        );
        assert_eq!(breaker.current(), BreakerState::HalfOpen);
        breaker.success();
        assert_eq!(breaker.current(), BreakerState::Closed);
    }

    #[test]
    fn open_it_refuses_until_its_cooldown_ends_and_half_open_it_lets_one_probe_through() {
        let breaker = breaker(1, 60_000);
        assert!(breaker.admit().is_ok());
        breaker.failure();
        let wait = breaker.admit().expect_err("open");
        assert!(wait > Duration::from_secs(59), "{wait:?}");
        let breaker = self::breaker(1, 0);
        breaker.failure();
        assert!(breaker.admit().is_ok(), "the probe");
        breaker.failure();
        assert_eq!(
            breaker.current(),
            BreakerState::Open,
            "a failed probe reopens it"
        );
    }

    #[test]
    fn only_one_probe_goes_while_it_is_half_open() {
        let breaker = breaker(1, 200);
        breaker.failure();
        std::thread::sleep(Duration::from_millis(250));
        assert!(breaker.admit().is_ok(), "the probe");
        assert!(
            breaker.admit().is_err(),
            "no second call before the probe reports"
        );
    }

    #[test]
    fn zero_failures_disables_it() {
        let breaker = breaker(0, 60_000);
        for _ in 0..10 {
            breaker.failure();
        }
        assert!(breaker.admit().is_ok());
        assert_eq!(breaker.current(), BreakerState::Closed);
    }
}
