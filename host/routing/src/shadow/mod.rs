//! Shadow routing policies: a policy configured in `[[routing.shadow]]` orders the same
//! candidates as the live policy, with the same request summary and statistics, for every
//! request of the models it shadows, and its first choice is compared with the live one.
//!
//! Nothing of it is on the request path but a non-blocking `try_send` of the job once the
//! request is done with its attempts (its [`Pending`] is dropped). One worker task evaluates
//! the jobs one at a time; when its queue of [`QUEUE_CAPACITY`] jobs is full, the job is
//! dropped and counted as skipped. Shadow calls never touch the shadow policy's circuit breaker
//! or canary judgement, and their faults are only counted. The admin API replaces the
//! configuration at runtime (`PUT`/`DELETE /admin/routing/shadow`).

mod tally;
mod worker;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::sync::mpsc;

pub use tally::{ShadowReport, SideReport};

use super::Candidate;
use switchyard_catalog::Catalog;
use switchyard_domain::config::routing::ShadowConfig;
use switchyard_domain::plugin_types::{PolicyCandidate, PolicyRequest};
use switchyard_plugin_runtime::PluginRegistry;
use tally::{Outcome, Tally};

/// Jobs waiting for the worker; a request finding the queue full is not shadowed.
pub const QUEUE_CAPACITY: usize = 64;

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

/// One shadow policy on one model: its figures and the jobs skipped for it.
#[derive(Debug)]
struct Entry {
    policy: String,
    model: String,
    /// Written by the worker only.
    tally: Mutex<Tally>,
    skipped: AtomicU64,
}

impl Entry {
    fn new(policy: &str, model: &str) -> Entry {
        Entry {
            policy: policy.to_owned(),
            model: model.to_owned(),
            tally: Mutex::new(Tally::default()),
            skipped: AtomicU64::new(0),
        }
    }

    fn record(&self, outcome: Outcome) {
        (self.tally.lock().unwrap_or_else(|p| p.into_inner())).record(outcome);
    }

    fn report(&self) -> Option<ShadowReport> {
        let skipped = self.skipped.load(Ordering::Relaxed);
        let tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        (skipped > 0 || !tally.is_empty()).then(|| tally.report(&self.policy, &self.model, skipped))
    }
}

/// The shadow policies of one model.
#[derive(Debug)]
struct Target {
    entries: Vec<Arc<Entry>>,
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
                for entry in &job.target.entries {
                    entry.skipped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!("shadow worker stopped; request not shadowed");
            }
        }
    }
}

/// The shadow policies of each model, by canonical model id (only models some policy shadows).
type Targets = HashMap<String, Arc<Target>>;

/// Which policies shadow which models, their figures, and the queue to the worker. The
/// configuration can be replaced at runtime ([`Shadow::configure`]).
#[derive(Debug)]
pub struct Shadow {
    /// Whether any policy shadows any model: all the request path reads when none does.
    active: AtomicBool,
    targets: ArcSwap<Targets>,
    /// The entries in force; its lock serialises reconfigurations.
    entries: Mutex<Vec<ShadowConfig>>,
    queue: mpsc::Sender<Job>,
}

impl Shadow {
    /// Starts the worker and applies `entries` (see [`Shadow::configure`]).
    pub fn start(
        entries: &[ShadowConfig],
        catalog: &Catalog,
        plugins: Arc<PluginRegistry>,
    ) -> Result<Shadow, ShadowError> {
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        let shadow = Shadow {
            active: AtomicBool::new(false),
            targets: ArcSwap::from_pointee(Targets::new()),
            entries: Mutex::new(Vec::new()),
            queue,
        };
        shadow.configure(entries.to_vec(), catalog, &plugins)?;
        tokio::spawn(worker::run(jobs, plugins));
        Ok(shadow)
    }

    /// Replaces the shadow policies with `entries`, checked against the catalog and the loaded
    /// policies. A (policy, model) pair that stays keeps its figures; the others' are dropped.
    pub fn configure(
        &self,
        entries: Vec<ShadowConfig>,
        catalog: &Catalog,
        plugins: &PluginRegistry,
    ) -> Result<(), ShadowError> {
        let mut current = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let targets = targets(&entries, catalog, plugins, &self.targets.load())?;
        self.active.store(!targets.is_empty(), Ordering::Relaxed);
        self.targets.store(Arc::new(targets));
        tracing::info!(shadows = ?entries, "shadow routing policies configured");
        *current = entries;
        Ok(())
    }

    /// The entries in force.
    pub fn entries(&self) -> Vec<ShadowConfig> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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
        if !self.active.load(Ordering::Relaxed) || offered.len() <= 1 {
            return None;
        }
        let target = self.targets.load().get(&request.model)?.clone();
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

    /// Every shadowed (policy, model) with an evaluation, a fault or a skipped job, sorted.
    pub fn report(&self) -> Vec<ShadowReport> {
        let targets = self.targets.load();
        let mut reports: Vec<ShadowReport> = (targets.values())
            .flat_map(|target| target.entries.iter().filter_map(|entry| entry.report()))
            .collect();
        reports.sort_by(|a, b| (&a.policy, &a.model).cmp(&(&b.policy, &b.model)));
        reports
    }
}

/// The targets of `entries`, reusing the entries of `old` for the pairs that stay.
fn targets(
    entries: &[ShadowConfig],
    catalog: &Catalog,
    plugins: &PluginRegistry,
    old: &Targets,
) -> Result<Targets, ShadowError> {
    let mut scopes = Vec::with_capacity(entries.len());
    for entry in entries {
        if plugins.router(&entry.policy).is_none() {
            return Err(ShadowError::UnknownPolicy(entry.policy.clone()));
        }
        scopes.push((entry.policy.as_str(), models_of(entry, catalog)?));
    }
    let mut targets = Targets::new();
    for model in catalog.models() {
        let id = model.id.as_str();
        let mut shadows: Vec<Arc<Entry>> = Vec::new();
        for (policy, models) in &scopes {
            if models.as_ref().is_some_and(|models| !models.contains(id)) {
                continue;
            }
            if shadows.iter().any(|entry| entry.policy == *policy) {
                return Err(ShadowError::Twice {
                    policy: policy.to_string(),
                    model: id.to_owned(),
                });
            }
            let kept = (old.get(id).into_iter())
                .flat_map(|target| target.entries.iter())
                .find(|entry| entry.policy == *policy);
            shadows.push(kept.map_or_else(|| Arc::new(Entry::new(policy, id)), Arc::clone));
        }
        if !shadows.is_empty() {
            targets.insert(id.to_owned(), Arc::new(Target { entries: shadows }));
        }
    }
    Ok(targets)
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
        let entries = vec![
            Arc::new(Entry::new("latency", "a/b")),
            Arc::new(Entry::new("weighted", "a/b")),
        ];
        let target = Arc::new(Target { entries });
        drop(pending(&target, &queue));
        drop(pending(&target, &queue));
        assert!(jobs.try_recv().is_ok());
        assert!(jobs.try_recv().is_err());
        let shadow = Shadow {
            active: AtomicBool::new(true),
            targets: ArcSwap::from_pointee(Targets::from([("a/b".to_owned(), target)])),
            entries: Mutex::new(Vec::new()),
            queue,
        };
        let reports = shadow.report();
        assert_eq!(reports.len(), 2);
        for report in reports {
            assert_eq!((report.skipped, report.evaluated), (1, 0), "{report:?}");
        }
    }
}
