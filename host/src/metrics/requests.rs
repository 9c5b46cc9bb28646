//! What the request path records: each served generation (tokens, durations, cost; also kept
//! for the dashboard) and each upstream attempt's outcome.

use std::time::Duration;

use opentelemetry::KeyValue;
use rust_decimal::prelude::ToPrimitive;

use super::get;
use crate::accounting::tab::Charge;
use crate::catalog::Catalog;
use crate::dashboard::activity::{self, Served};
use crate::gateway::ChatCall;

/// The largest token count one generation adds to the token histogram. The histogram keeps a u64
/// sum, so a provider's absurd usage (1e30 tokens saturates to `u64::MAX`) would overflow it;
/// the settlement already clamps such a charge to its hold and notes why.
const TOKEN_COUNT_CEILING: u64 = u32::MAX as u64;

/// The labels of one request that its served generation is recorded with.
#[derive(Debug, Clone)]
pub struct Observer {
    /// The catalog id of the model the client asked for first, or `_OTHER` (a label never
    /// comes from the client's text: aliases and spellings of one model are one series).
    request_model: String,
    /// Key and account ids, when accounting is on.
    key: Option<(String, String)>,
    /// The key's team and the request's end user, for the dashboard's activity.
    team_and_user: (Option<String>, Option<String>),
}

impl Observer {
    /// The labels of `call`, its model resolved in `catalog`.
    pub fn of(call: &ChatCall, catalog: &Catalog) -> Observer {
        let first = call.models.first().map(String::as_str).unwrap_or_default();
        let resolved = catalog.resolve(first).or_else(|| {
            let (base, _variant) = first.rsplit_once(':')?;
            catalog.resolve(base)
        });
        Observer {
            request_model: resolved.map_or_else(|| "_OTHER".to_owned(), |model| model.id.clone()),
            key: (call.tab.key_and_account())
                .map(|(key, account)| (key.to_owned(), account.to_owned())),
            team_and_user: {
                let (user, team) = call.tab.end_user_and_team();
                (team.map(str::to_owned), user.map(str::to_owned))
            },
        }
    }

    /// Records a served generation: in the dashboard's activity, on its trace's spans, and in
    /// the metrics its tokens by type, the duration of the attempt that served it, time to
    /// first token, time per output token and cost.
    pub fn served(&self, charge: &Charge<'_>, duration: Duration) {
        crate::traces::spans::served(charge);
        let key_id = self.key.as_ref().map(|(key, _)| key.as_str());
        let (team, user) = &self.team_and_user;
        let who = activity::Who {
            key: key_id,
            team: team.as_deref(),
            user: user.as_deref(),
        };
        activity::record(Served::of(charge, &self.request_model, who, duration));
        let Some(metrics) = get() else {
            return;
        };
        let instruments = &metrics.instruments;
        let genai = [
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new("gen_ai.provider.name", charge.provider.to_owned()),
            KeyValue::new("gen_ai.request.model", self.request_model.clone()),
            KeyValue::new("gen_ai.response.model", charge.model.to_owned()),
        ];
        let usage = &charge.usage;
        let tokens = [
            ("input", usage.prompt_tokens, true),
            ("output", usage.completion_tokens, true),
            ("cached", usage.cached_tokens, usage.cached_tokens > 0),
            (
                "reasoning",
                usage.reasoning_tokens,
                usage.reasoning_tokens > 0,
            ),
        ];
        for (kind, count, wanted) in tokens {
            if wanted {
                let mut attributes = genai.to_vec();
                attributes.push(KeyValue::new("gen_ai.token.type", kind));
                let count = count.min(TOKEN_COUNT_CEILING);
                instruments.token_usage.record(count, &attributes);
            }
        }
        instruments
            .operation_duration
            .record(duration.as_secs_f64(), &genai);
        instruments
            .time_to_first_token
            .record(charge.latency.as_secs_f64(), &genai);
        if usage.completion_tokens > 1 {
            let generating = duration.saturating_sub(charge.latency).as_secs_f64();
            let per_token = generating / (usage.completion_tokens - 1) as f64;
            instruments.time_per_output_token.record(per_token, &genai);
        }
        let mut cost_labels = vec![
            KeyValue::new("gen_ai.provider.name", charge.provider.to_owned()),
            KeyValue::new("gen_ai.response.model", charge.model.to_owned()),
        ];
        if let (Some((key, account)), true) = (&self.key, metrics.key_labels) {
            cost_labels.push(KeyValue::new("switchyard.key.id", key.clone()));
            cost_labels.push(KeyValue::new("switchyard.account.id", account.clone()));
        }
        let fee = charge.cost.total - charge.cost.upstream;
        for (part, amount) in [("upstream", charge.cost.upstream), ("fee", fee)] {
            let mut attributes = cost_labels.clone();
            attributes.push(KeyValue::new("switchyard.cost.part", part));
            let amount = amount.to_f64().unwrap_or_default();
            instruments.cost.add(amount, &attributes);
        }
    }
}

/// Records an upstream attempt at `model` on `provider`: `outcome` is `success` or the
/// failure's kind.
pub fn attempt(model: &str, provider: &str, outcome: &'static str) {
    if let Some(metrics) = get() {
        let attributes = [
            KeyValue::new("gen_ai.request.model", model.to_owned()),
            KeyValue::new("gen_ai.provider.name", provider.to_owned()),
            KeyValue::new("switchyard.outcome", outcome),
        ];
        metrics.instruments.attempts.add(1, &attributes);
    }
}

/// Records that a failed attempt (`outcome`: the failure's kind) is followed by another.
pub fn failover(outcome: &'static str) {
    if let Some(metrics) = get() {
        let attributes = [KeyValue::new("switchyard.outcome", outcome)];
        metrics.instruments.failovers.add(1, &attributes);
    }
}

/// Records a timeout at `provider` (a catalog name) that counts against the request, not the
/// endpoint: the endpoint served other requests meanwhile.
pub fn client_timeout(provider: &str) {
    if let Some(metrics) = get() {
        let attributes = [KeyValue::new("gen_ai.provider.name", provider.to_owned())];
        metrics.instruments.client_timeouts.add(1, &attributes);
    }
}

/// Records a call into `function` of version `version` of plugin `name` that took `elapsed`;
/// `ok` is false when it faulted.
pub fn plugin_call(name: &str, version: &str, function: &'static str, elapsed: Duration, ok: bool) {
    if let Some(metrics) = get() {
        let attributes = [
            KeyValue::new("switchyard.plugin.name", name.to_owned()),
            KeyValue::new("switchyard.plugin.version", version.to_owned()),
            KeyValue::new("switchyard.plugin.function", function),
            KeyValue::new("switchyard.outcome", if ok { "success" } else { "fault" }),
        ];
        let seconds = elapsed.as_secs_f64();
        metrics
            .instruments
            .plugin_call_duration
            .record(seconds, &attributes);
    }
}
