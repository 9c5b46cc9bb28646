//! Shadow routing policies: a policy configured in `[[routing.shadow]]` orders the same
//! candidates as the live policy, with the same request summary and statistics, for every
//! request of the models it shadows, and its first choice is compared with the live one.
//!
//! Nothing of it is on the request path but a non-blocking `try_send` of the job once the
//! request is done with its attempts (its [`Pending`] is dropped). One worker task evaluates
//! the jobs one at a time; when its queue of [`QUEUE_CAPACITY`] jobs is full, the job is
//! dropped and counted as skipped. Shadow calls never touch the shadow policy's circuit breaker
//! or canary judgement, and their faults are only counted.

mod tally;
mod worker;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio::sync::mpsc;

pub use tally::{ShadowReport, SideReport};

use super::Candidate;
use crate::catalog::Catalog;
use crate::plugins::PluginRegistry;
use crate::plugins::router::{PolicyCandidate, PolicyRequest};
use tally::{Outcome, Tally};

/// Jobs waiting for the worker; a request finding the queue full is not shadowed.
pub const QUEUE_CAPACITY: usize = 64;

/// One `[[routing.shadow]]` entry: a routing policy evaluated beside the live one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowConfig {
    /// The routing policy plugin to evaluate.
    pub policy: String,
    /// The models (ids or aliases) whose requests it evaluates; absent: every model.
    #[serde(default)]
    pub models: Option<Vec<String>>,
}

/// Why the shadow configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ShadowError {
    /// The entry names a policy that is not loaded.
    #[error("routing.shadow: no routing policy plugin named {0:?} is loaded")]
    UnknownPolicy(String),
    /// The entry names a model the catalog does not have.
    #[error("routing.shadow: policy {policy:?} names no model {model:?}")]
    UnknownModel {
        /// The entry's policy.
        policy: String,
        /// The unknown model id.
        model: String,
    },
    /// The entry lists no model (leave `models` out for every model).
    #[error("routing.shadow: policy {0:?} has an empty `models` list")]
    NoModels(String),
    /// Two entries shadow one model with the same policy.
    #[error("routing.shadow: policy {policy:?} shadows model {model:?} twice")]
    Twice {
        /// The policy.
        policy: String,
        /// The model.
        model: String,
    },
}

/// The shadow policies of one model, their figures, and the model's skipped jobs.
#[derive(Debug)]
struct Target {
    model: String,
    policies: Vec<String>,
    /// One per policy, in the same order; written by the worker only.
    tallies: Mutex<Vec<Tally>>,
    skipped: AtomicU64,
}

impl Target {
    fn record(&self, policy: usize, outcome: Outcome) {
        let mut tallies = self.tallies.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tally) = tallies.get_mut(policy) {
            tally.record(outcome);
        }
    }
}

/// One request's routing decision, for the worker to re-decide with the shadow policies.
#[derive(Debug)]
struct Job {
    target: Arc<Target>,
    request: PolicyRequest,
    /// The candidates the live policy ordered (for their prices).
    candidates: Vec<Candidate>,
    /// The same, as offered to the live policy (with the statistics it saw).
    offered: Vec<PolicyCandidate>,
    /// The live policy's first choice: an index into both lists.
    live_first: Option<usize>,
}

/// A shadow evaluation waiting for its request to be done with its attempts; queued for the
/// worker when dropped (counted as skipped when the queue is full).
#[derive(Debug)]
pub struct Pending {
    job: Option<Job>,
    queue: mpsc::Sender<Job>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(job) = self.job.take() else {
            return;
        };
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(job)) => {
                job.target.skipped.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!("shadow worker stopped; request not shadowed");
            }
        }
    }
}

/// Which policies shadow which models, their figures, and the queue to the worker.
#[derive(Debug)]
pub struct Shadow {
    /// By canonical model id; only models some policy shadows.
    targets: HashMap<String, Arc<Target>>,
    queue: mpsc::Sender<Job>,
}

impl Shadow {
    /// Checks `entries` against the catalog and the loaded policies and starts the worker;
    /// `None` when no policy shadows anything.
    pub fn start(
        entries: &[ShadowConfig],
        catalog: &Catalog,
        plugins: Arc<PluginRegistry>,
    ) -> Result<Option<Shadow>, ShadowError> {
        if entries.is_empty() {
            return Ok(None);
        }
        let mut scopes = Vec::with_capacity(entries.len());
        for entry in entries {
            if plugins.router(&entry.policy).is_none() {
                return Err(ShadowError::UnknownPolicy(entry.policy.clone()));
            }
            scopes.push((&entry.policy, models_of(entry, catalog)?));
        }
        let mut targets = HashMap::new();
        for model in catalog.models() {
            let mut policies: Vec<String> = Vec::new();
            for (policy, models) in &scopes {
                if models
                    .as_ref()
                    .is_some_and(|models| !models.contains(&model.id))
                {
                    continue;
                }
                if policies.contains(policy) {
                    return Err(ShadowError::Twice {
                        policy: policy.to_string(),
                        model: model.id.clone(),
                    });
                }
                policies.push(policy.to_string());
            }
            if policies.is_empty() {
                continue;
            }
            let target = Target {
                model: model.id.clone(),
                tallies: Mutex::new(vec![Tally::default(); policies.len()]),
                policies,
                skipped: AtomicU64::new(0),
            };
            targets.insert(model.id.clone(), Arc::new(target));
        }
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(worker::run(jobs, plugins));
        Ok(Some(Shadow { targets, queue }))
    }

    /// The shadow evaluation of one routing decision: `request` and `candidates` as the live
    /// policy got them (`offered`), and its first choice. `None` when no policy shadows the
    /// model or there was nothing to order.
    pub fn pending(
        &self,
        request: PolicyRequest,
        candidates: Vec<Candidate>,
        offered: Vec<PolicyCandidate>,
        live_first: Option<usize>,
    ) -> Option<Pending> {
        if offered.len() <= 1 {
            return None;
        }
        let target = self.targets.get(&request.model)?.clone();
        Some(Pending {
            job: Some(Job {
                target,
                request,
                candidates,
                offered,
                live_first,
            }),
            queue: self.queue.clone(),
        })
    }

    /// Every (shadow policy, model) with an evaluation, a fault or a skipped job, sorted.
    pub fn report(&self) -> Vec<ShadowReport> {
        let mut reports = Vec::new();
        for target in self.targets.values() {
            let skipped = target.skipped.load(Ordering::Relaxed);
            let tallies = target.tallies.lock().unwrap_or_else(|p| p.into_inner());
            for (policy, tally) in target.policies.iter().zip(tallies.iter()) {
                if skipped > 0 || !tally.is_empty() {
                    reports.push(tally.report(policy, &target.model, skipped));
                }
            }
        }
        reports.sort_by(|a, b| (&a.policy, &a.model).cmp(&(&b.policy, &b.model)));
        reports
    }
}

/// The canonical ids of the models `entry` names; `None` for every model.
fn models_of(
    entry: &ShadowConfig,
    catalog: &Catalog,
) -> Result<Option<BTreeSet<String>>, ShadowError> {
    let Some(models) = &entry.models else {
        return Ok(None);
    };
    if models.is_empty() {
        return Err(ShadowError::NoModels(entry.policy.clone()));
    }
    let mut ids = BTreeSet::new();
    for id in models {
        let model = catalog
            .resolve(id)
            .ok_or_else(|| ShadowError::UnknownModel {
                policy: entry.policy.clone(),
                model: id.clone(),
            })?;
        if !ids.insert(model.id.clone()) {
            return Err(ShadowError::Twice {
                policy: entry.policy.clone(),
                model: model.id.clone(),
            });
        }
    }
    Ok(Some(ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Arc<Target> {
        Arc::new(Target {
            model: "a/b".to_owned(),
            policies: vec!["latency".to_owned()],
            tallies: Mutex::new(vec![Tally::default()]),
            skipped: AtomicU64::new(0),
        })
    }

    fn pending(target: &Arc<Target>, queue: &mpsc::Sender<Job>) -> Pending {
        Pending {
            job: Some(Job {
                target: target.clone(),
                request: PolicyRequest {
                    model: "a/b".to_owned(),
                    estimated_prompt_tokens: 10,
                    max_tokens: None,
                    seed: 0,
                },
                candidates: Vec::new(),
                offered: Vec::new(),
                live_first: Some(0),
            }),
            queue: queue.clone(),
        }
    }

    #[test]
    fn a_job_finding_the_queue_full_is_dropped_and_counted_as_skipped() {
        let (queue, mut jobs) = mpsc::channel(1);
        let target = target();
        drop(pending(&target, &queue));
        drop(pending(&target, &queue));
        assert_eq!(target.skipped.load(Ordering::Relaxed), 1);
        assert!(jobs.try_recv().is_ok());
        assert!(jobs.try_recv().is_err());
        let shadow = Shadow {
            targets: HashMap::from([("a/b".to_owned(), target)]),
            queue,
        };
        let reports = shadow.report();
        assert_eq!(reports.len(), 1);
        assert_eq!((reports[0].skipped, reports[0].evaluated), (1, 0));
    }
}
