//! Routing: from the requested model ids and the request's preferences to the ordered list of
//! endpoints to try. The host resolves models and variants, applies the hard filters, has a
//! policy plugin order what is left (the sort's policy, else the API key's, else the model's), then applies the request's soft preferences (performance
//! thresholds, explicit `order`, `allow_fallbacks`). Shadow policies ([`shadow`]) re-decide the
//! first model's order off the request path.
//!
//! Layer 6 of the host (see `.ci/layers`): it may depend on the domain, telemetry, health,
//! plugin runtime and catalog crates.

pub mod capabilities;
pub mod context;
pub mod filters;
mod policy;
pub mod preferences;
pub mod shadow;
pub mod sticky;

use std::sync::Arc;

use capabilities::Needs;
use context::ContextNeed;
use filters::{FilterInput, exclusion};
use preferences::{Partition, ProviderPreferences, SortBy, Threshold, Variant};
use shadow::{Pending, Shadow};
use sticky::{Session, Sticky};
use switchyard_catalog::{Catalog, Endpoint, Model};
use switchyard_domain::capability::Capability;
use switchyard_domain::config::RoutingConfig;
use switchyard_domain::error::{DomainError, Unmatched};
use switchyard_domain::plugin_types::PolicyRequest;
use switchyard_domain::routing_trace::{CandidateTrace, EndpointRef, ModelTrace, RoutingTrace};
use switchyard_health::stats::Percentiles;
use switchyard_plugin_runtime::PluginRegistry;

/// One endpoint to try.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The model it serves.
    pub model: Arc<Model>,
    /// The endpoint.
    pub endpoint: Arc<Endpoint>,
}

/// What routing needs to know about a request.
#[derive(Debug)]
pub struct RouteRequest<'a> {
    /// Model ids to try, in order, variants included.
    pub models: &'a [String],
    /// The `provider` object.
    pub preferences: &'a ProviderPreferences,
    /// Routable parameters the request sets (for `require_parameters`).
    pub sent_parameters: &'a [String],
    /// The capabilities the request needs from an adapter.
    pub needs: &'a Needs,
    /// What the request needs of a model's context window.
    pub context: ContextNeed,
    /// Rough prompt size in tokens.
    pub estimated_prompt_tokens: u64,
    /// The request's output limit.
    pub max_tokens: Option<u64>,
    /// Seed for the policies' randomness.
    pub seed: u64,
    /// The API key's routing policy, which replaces each model's (a sort still wins).
    pub key_policy: Option<&'a str>,
    /// The conversation the request continues, and the endpoints conversations keep.
    pub session: Option<(Session, &'a Sticky)>,
    /// The shadow policies.
    pub shadow: &'a Shadow,
}

/// The endpoints to try, best first, and how they were chosen.
#[derive(Debug)]
pub struct Plan {
    /// The candidates in order.
    pub candidates: Vec<Candidate>,
    /// The decisions so far; the gateway appends the attempts.
    pub trace: RoutingTrace,
    /// The shadow evaluation of the first model's order, queued when the plan is dropped.
    pub shadow: Option<Pending>,
}

/// Candidates that are ordered together: one model's, or every model's under
/// `partition: "none"`.
struct Group {
    policy: String,
    /// The request sorts this group by price.
    by_price: bool,
    model: String,
    candidates: Vec<Candidate>,
    trace_index: usize,
}

/// Plans a request: the ordered candidates, or the error to answer with.
pub async fn plan(
    catalog: &Catalog,
    plugins: &PluginRegistry,
    config: &RoutingConfig,
    request: &RouteRequest<'_>,
) -> Result<Plan, DomainError> {
    let preferences = request.preferences;
    let mut trace = RoutingTrace::default();
    let mut groups = Vec::new();
    let mut disabled = Vec::new();
    let mut missing = Missing::default();
    for requested in request.models {
        let (id, variant) = Variant::split(requested);
        let model = catalog
            .resolve(id)
            .ok_or_else(|| DomainError::ModelNotFound {
                requested: requested.clone(),
            })?;
        disabled.extend(model.disabled.iter().cloned());
        let input = FilterInput {
            preferences,
            variant,
            sent_parameters: request.sent_parameters,
        };
        let (kept, candidate_traces) = filter(model, &input, request, plugins, &mut missing);
        let sort = (preferences.sort.map(|sort| sort.by)).or(variant.and_then(Variant::sort));
        let policy = match (sort, request.key_policy) {
            (Some(by), _) => sort_policy(config, by),
            (None, Some(policy)) => policy.to_owned(),
            (None, None) => model.policy.clone(),
        };
        groups.push(Group {
            policy,
            by_price: sort == Some(SortBy::Price),
            model: model.id.clone(),
            candidates: kept,
            trace_index: trace.models.len(),
        });
        trace.models.push(ModelTrace {
            requested: requested.clone(),
            model: model.id.clone(),
            policy: None,
            policy_error: None,
            candidates: candidate_traces,
            disabled: model.disabled.clone(),
        });
    }
    if preferences
        .sort
        .is_some_and(|sort| sort.partition == Partition::None)
        && groups.len() > 1
    {
        groups = vec![merge(groups)];
    }

    let mut candidates = Vec::new();
    let mut shadow = None;
    for (number, group) in groups.into_iter().enumerate() {
        let policy_request = PolicyRequest {
            model: group.model.clone(),
            estimated_prompt_tokens: request.estimated_prompt_tokens,
            max_tokens: request.max_tokens,
            seed: request.seed,
        };
        let decision =
            policy::order(plugins, &group.policy, &policy_request, &group.candidates).await;
        if group.candidates.len() > 1
            && let Some(model_trace) = trace.models.get_mut(group.trace_index)
        {
            model_trace.policy = Some(group.policy.clone());
            model_trace.policy_error = decision.error;
        }
        let ordered: Vec<Candidate> = (decision.order.iter())
            .filter_map(|index| group.candidates.get(*index).cloned())
            .collect();
        let ordered =
            capabilities::streaming_first(ordered, request.needs, group.by_price, plugins);
        candidates.extend(apply_preferences(ordered, preferences));
        if number == 0 {
            let live_first = decision.order.first().copied();
            shadow = request.shadow.pending(
                policy_request,
                group.candidates,
                decision.offered,
                live_first,
            );
        }
    }
    if let (Some((session, sticky)), None) = (request.session, &preferences.order) {
        trace.sticky = sticky.apply(session, &mut candidates);
    }
    trace.order = candidates
        .iter()
        .map(|candidate| EndpointRef {
            model: candidate.model.id.clone(),
            provider: candidate.endpoint.provider.name.clone(),
        })
        .collect();
    if candidates.is_empty() {
        return Err(nothing_left(request, trace, disabled, &missing));
    }
    Ok(Plan {
        candidates,
        trace,
        shadow,
    })
}

/// What each endpoint lacks, in the order they were filtered.
#[derive(Default)]
struct Missing {
    /// The capability it lacks (`None`: none, or it was left out otherwise).
    capabilities: Vec<Option<Capability>>,
    /// Its model's context window, when that is too small and nothing else left it out first.
    windows: Vec<Option<u64>>,
}

/// The model's endpoints that pass the filters, and a trace entry for every endpoint. Adds to
/// `missing` what each endpoint lacks.
fn filter(
    model: &Arc<Model>,
    input: &FilterInput<'_>,
    request: &RouteRequest<'_>,
    plugins: &PluginRegistry,
    missing: &mut Missing,
) -> (Vec<Candidate>, Vec<CandidateTrace>) {
    let (needs, context) = (request.needs, request.context);
    let mut kept = Vec::new();
    let mut traces = Vec::new();
    for endpoint in &model.endpoints {
        // Only `require_parameters` needs the adapter's declared parameters.
        let adapter = (input.preferences.require_parameters == Some(true))
            .then(|| plugins.provider(&endpoint.provider.plugin))
            .flatten();
        let parameters = adapter
            .as_ref()
            .map(|adapter| adapter.descriptor().supported_parameters.as_slice());
        let lacks = (!needs.is_empty())
            .then(|| plugins.stable_provider(&endpoint.provider.plugin))
            .flatten()
            .and_then(|adapter| needs.missing(adapter.descriptor()));
        // A search is served only at a price the catalog knows.
        let unpriced_search = lacks.is_none()
            && needs.has(Capability::WebSearch)
            && endpoint.prices.web_search.is_none();
        // Before [`exclusion`], whose last check claims the circuit breaker's probe.
        let too_small = context.too_small(model.context_length);
        let lacks_or_unpriced = lacks.or(unpriced_search.then_some(Capability::WebSearch));
        missing.capabilities.push(lacks_or_unpriced);
        missing
            .windows
            .push(too_small.filter(|_| lacks_or_unpriced.is_none()));
        let excluded = match (lacks, too_small) {
            (Some(capability), _) => Some(filters::Exclusion::MissingCapability(capability)),
            (None, _) if unpriced_search => Some(filters::Exclusion::SearchPriceUnknown),
            (None, Some(window)) => Some(filters::Exclusion::ContextLength {
                needed: context.total(),
                context: window,
            }),
            (None, None) => exclusion(endpoint, input, parameters),
        };
        traces.push(CandidateTrace {
            provider: endpoint.provider.name.clone(),
            excluded: excluded.as_ref().map(filters::Exclusion::code),
            reason: excluded.as_ref().map(ToString::to_string),
        });
        if excluded.is_none() {
            kept.push(Candidate {
                model: model.clone(),
                endpoint: endpoint.clone(),
            });
        }
    }
    (kept, traces)
}

/// The policy plugin a sort selects.
fn sort_policy(config: &RoutingConfig, by: SortBy) -> String {
    match by {
        SortBy::Price => config.sort.price.clone(),
        SortBy::Throughput => config.sort.throughput.clone(),
        SortBy::Latency => config.sort.latency.clone(),
    }
}

/// One group of every model's candidates, ordered by the first group's (the sort's) policy.
fn merge(groups: Vec<Group>) -> Group {
    let mut merged = Group {
        policy: String::new(),
        by_price: false,
        model: String::new(),
        candidates: Vec::new(),
        trace_index: 0,
    };
    for (index, group) in groups.into_iter().enumerate() {
        if index == 0 {
            merged.policy = group.policy;
            merged.by_price = group.by_price;
            merged.model = group.model;
        }
        merged.candidates.extend(group.candidates);
    }
    merged
}

/// Applies the soft preferences to a policy's order: endpoints meeting the performance
/// thresholds first, then the explicit `order` first of all, and without fallbacks only the
/// first choice (or the listed providers). Each step keeps the relative order otherwise.
fn apply_preferences(
    mut ordered: Vec<Candidate>,
    preferences: &ProviderPreferences,
) -> Vec<Candidate> {
    if preferences.preferred_min_throughput.is_some() || preferences.preferred_max_latency.is_some()
    {
        ordered.sort_by_cached_key(|candidate| !meets_thresholds(&candidate.endpoint, preferences));
    }
    if let Some(order) = &preferences.order {
        ordered.sort_by_key(|candidate| {
            order
                .iter()
                .position(|name| name.eq_ignore_ascii_case(&candidate.endpoint.provider.name))
                .unwrap_or(usize::MAX)
        });
    }
    if !preferences.allows_fallbacks() && preferences.order.is_none() {
        ordered.truncate(1);
    }
    ordered
}

/// Whether the endpoint's live figures meet `preferred_min_throughput` and
/// `preferred_max_latency` (seconds to first token). An endpoint without figures meets them.
fn meets_thresholds(endpoint: &Endpoint, preferences: &ProviderPreferences) -> bool {
    let snapshot = endpoint.stats.snapshot();
    let each =
        |threshold: &Threshold, figures: Option<Percentiles>, ok: &dyn Fn(f64, f64) -> bool| {
            let Some(figures) = figures else {
                return true;
            };
            [
                (threshold.p50, figures.p50),
                (threshold.p75, figures.p75),
                (threshold.p90, figures.p90),
                (threshold.p99, figures.p99),
            ]
            .into_iter()
            .all(|(cut, value)| cut.is_none_or(|cut| ok(value, cut)))
        };
    let throughput = preferences
        .preferred_min_throughput
        .as_ref()
        .is_none_or(|threshold| each(threshold, snapshot.throughput, &|value, cut| value >= cut));
    let latency = preferences
        .preferred_max_latency
        .as_ref()
        .is_none_or(|threshold| {
            each(threshold, snapshot.first_byte_ms, &|ms, seconds| {
                ms <= seconds * 1000.0
            })
        });
    throughput && latency
}

/// The error when no endpoint is left: no requested model has an enabled endpoint, every
/// endpoint's adapter lacks a capability the request needs, or the request's preferences (or
/// open circuits, or the policy) removed them all.
fn nothing_left(
    request: &RouteRequest<'_>,
    trace: RoutingTrace,
    disabled: Vec<String>,
    missing: &Missing,
) -> DomainError {
    let models = request.models.join(", ");
    if trace.models.iter().all(|model| model.candidates.is_empty()) {
        return DomainError::NoEnabledEndpoint { models, disabled };
    }

    let all_too_small = missing
        .windows
        .iter()
        .copied()
        .collect::<Option<Vec<u64>>>();
    if let Some(largest) = all_too_small.and_then(|windows| windows.into_iter().max()) {
        return DomainError::ContextLengthExceeded {
            estimate: request.context.total(),
            largest_context: largest,
            unmatched: Box::new(Unmatched {
                models,
                disabled,
                trace,
            }),
        };
    }
    if let Some(missing) = capabilities::all_missing(&missing.capabilities) {
        let unmatched = Unmatched {
            models,
            disabled,
            trace,
        };
        return DomainError::MissingCapability {
            missing,
            unmatched: Box::new(unmatched),
        };
    }
    DomainError::NoEndpointMatches(Box::new(Unmatched {
        models,
        disabled,
        trace,
    }))
}
