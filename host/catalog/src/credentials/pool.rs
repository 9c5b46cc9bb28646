//! Credential pools: a provider listing several credentials (keys, or deployments and regions
//! with their own base URL), chosen by weight. A credential the upstream answers 429 or 401 is
//! skipped for a cool-down by its own breaker while the others serve; the attempt moves on to
//! another credential of the pool, and only a pool whose credentials all cool down fails the
//! attempt (the gateway then fails over to other endpoints).

use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;
use serde::Serialize;

use crate::credentials::prepared::PreparedCredential;
use switchyard_domain::config::BreakerConfig;
use switchyard_domain::config::credentials::PooledCredentialConfig;
use switchyard_health::breaker::{BreakerState, CircuitBreaker};

/// Why a pool cannot be built (stops the start).
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Two credentials share a name.
    #[error("credential {0:?} is listed twice")]
    Duplicate(String),
    /// A weight is negative, not finite, or all are zero.
    #[error("credential {0:?}: weight must be a finite number of at least 0, and not all 0")]
    Weight(String),
    /// A base URL does not parse.
    #[error("credential {0:?}: base_url is not a URL")]
    BaseUrl(String),
}

/// One credential of a pool.
pub struct Member {
    /// Its name.
    pub name: String,
    secret: String,
    prepared: PreparedCredential,
    base_url: Option<String>,
    weight: f64,
    breaker: CircuitBreaker,
    served: AtomicU64,
    refused: AtomicU64,
}

impl Member {
    /// The secret, to put where the adapter asked.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The secret as header values, built once.
    pub fn prepared(&self) -> &PreparedCredential {
        &self.prepared
    }

    /// The member's own base URL, when it has one.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }
}

/// What `/api/v1/providers` shows of one pooled credential.
#[derive(Debug, Clone, Serialize)]
pub struct MemberStats {
    /// Its name.
    pub name: String,
    /// Its share.
    pub weight: f64,
    /// Its breaker: `open` while it cools down.
    pub state: BreakerState,
    /// Requests it served (answers other than 429 and 401).
    pub served: u64,
    /// 429 and 401 answers it got.
    pub refused: u64,
}

/// A provider's pooled credentials.
pub struct CredentialPool {
    members: Vec<Member>,
}

impl std::fmt::Debug for CredentialPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.members.iter().map(|m| m.name.as_str()).collect();
        f.debug_struct("CredentialPool")
            .field("members", &names)
            .finish()
    }
}

impl CredentialPool {
    /// The pool of the credentials whose variables are set; `Ok(None)` when none is.
    pub fn new(
        configs: &[PooledCredentialConfig],
        breaker: BreakerConfig,
    ) -> Result<Option<CredentialPool>, PoolError> {
        let mut members: Vec<Member> = Vec::with_capacity(configs.len());
        for config in configs {
            if configs.iter().filter(|c| c.name == config.name).count() > 1 {
                return Err(PoolError::Duplicate(config.name.clone()));
            }
            if !(config.weight.is_finite() && config.weight >= 0.0) {
                return Err(PoolError::Weight(config.name.clone()));
            }
            if let Some(base_url) = &config.base_url
                && reqwest::Url::parse(base_url).is_err()
            {
                return Err(PoolError::BaseUrl(config.name.clone()));
            }
            let Some(secret) = std::env::var(&config.api_key_env)
                .ok()
                .filter(|secret| !secret.is_empty())
            else {
                tracing::warn!(credential = %config.name, variable = %config.api_key_env, "pooled credential left out: its variable is not set");
                continue;
            };
            members.push(Member {
                name: config.name.clone(),
                prepared: PreparedCredential::of(Some(&secret)),
                secret,
                base_url: config.base_url.clone(),
                weight: config.weight,
                breaker: CircuitBreaker::new(breaker),
                served: AtomicU64::new(0),
                refused: AtomicU64::new(0),
            });
        }
        if members.is_empty() {
            return Ok(None);
        }
        if members.iter().all(|member| member.weight == 0.0) {
            return Err(PoolError::Weight(members[0].name.clone()));
        }
        Ok(Some(CredentialPool { members }))
    }

    /// The member at `index`.
    pub fn member(&self, index: usize) -> Option<&Member> {
        self.members.get(index)
    }

    /// A member not yet `tried` by this request whose breaker lets it serve, chosen by weight;
    /// `None` when every untried member is cooling down.
    pub fn choose(&self, tried: &[usize]) -> Option<usize> {
        let mut open: Vec<usize> = (0..self.members.len())
            .filter(|index| !tried.contains(index))
            .collect();
        let mut rng = rand::rng();
        while !open.is_empty() {
            let total: f64 = open.iter().map(|&i| self.members[i].weight).sum();
            let mut point = if total > 0.0 {
                rng.random_range(0.0..total)
            } else {
                0.0
            };
            let mut slot = open.len() - 1;
            for (position, &index) in open.iter().enumerate() {
                let weight = self.members[index].weight;
                if point < weight {
                    slot = position;
                    break;
                }
                point -= weight;
            }
            let index = open.swap_remove(slot);
            if self.members[index].breaker.admit().is_ok() {
                return Some(index);
            }
        }
        None
    }

    /// Every member's secret (for scrubbing what the upstream echoes).
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|member| member.secret.as_str())
    }

    /// How many credentials the pool has.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Never true: a pool has a credential at least.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The upstream answered `status` to the member at `index`: a 429 or 401 cools it down
    /// (returns false: try another); anything else counts as served.
    pub fn judge(&self, index: usize, status: u16) -> bool {
        let Some(member) = self.members.get(index) else {
            return true;
        };
        if status == 429 || status == 401 {
            member.refused.fetch_add(1, Ordering::Relaxed);
            if member.breaker.failure() {
                tracing::warn!(credential = %member.name, status, "pooled credential refused: cooling down");
            }
            return false;
        }
        member.served.fetch_add(1, Ordering::Relaxed);
        member.breaker.success();
        true
    }

    /// Every member's figures.
    pub fn stats(&self) -> Vec<MemberStats> {
        self.members
            .iter()
            .map(|member| MemberStats {
                name: member.name.clone(),
                weight: member.weight,
                state: member.breaker.current(),
                served: member.served.load(Ordering::Relaxed),
                refused: member.refused.load(Ordering::Relaxed),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_domain::config::credentials::default_breaker;

    fn pool(weights: &[f64]) -> CredentialPool {
        CredentialPool {
            members: weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| Member {
                    name: format!("k{i}"),
                    secret: format!("secret{i}"),
                    prepared: PreparedCredential::default(),
                    base_url: None,
                    weight,
                    breaker: CircuitBreaker::new(default_breaker()),
                    served: AtomicU64::new(0),
                    refused: AtomicU64::new(0),
                })
                .collect(),
        }
    }

    #[test]
    fn weights_share_the_choices() {
        let pool = pool(&[3.0, 1.0, 0.0]);
        let mut counts = [0; 3];
        for _ in 0..4000 {
            counts[pool.choose(&[]).expect("one serves")] += 1;
        }
        assert_eq!(counts[2], 0, "{counts:?}");
        assert!((2700..3300).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn a_refused_member_cools_down_and_the_others_serve() {
        let pool = pool(&[1.0, 1.0]);
        assert!(!pool.judge(0, 429));
        for _ in 0..100 {
            assert_eq!(pool.choose(&[]), Some(1));
        }
        assert_eq!(pool.choose(&[1]), None);
        assert!(pool.judge(1, 200));
        let stats = pool.stats();
        assert_eq!((stats[0].refused, stats[0].state), (1, BreakerState::Open));
        assert_eq!(stats[1].served, 1);
    }
}
