//! What the request path records for each served generation: tokens, durations and cost in the
//! metrics, the same on its trace's spans, and a line in the dashboard's activity.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use rust_decimal::prelude::ToPrimitive;

use crate::activity::{self, Served};
use crate::call::ChatCall;
use switchyard_accounting::tab::Charge;
use switchyard_catalog::Catalog;
use switchyard_telemetry::metrics::get;
use switchyard_telemetry::metrics::labels::CatalogLabels;

/// The largest token count one generation adds to the token histogram. The histogram keeps a u64
/// sum, so a provider's absurd usage (1e30 tokens saturates to `u64::MAX`) would overflow it;
/// the settlement already clamps such a charge to its hold and notes why.
const TOKEN_COUNT_CEILING: u64 = u32::MAX as u64;

/// The labels of one request that its served generation is recorded with.
#[derive(Debug, Clone)]
pub struct Observer {
    /// `gen_ai.request.model`: the catalog id of the model the client asked for first, or
    /// `_OTHER` (a label never comes from the client's text: aliases and spellings of one model
    /// are one series). Built with the catalog.
    request_model: KeyValue,
    /// Every endpoint's labels, to find the served one's.
    labels: Arc<CatalogLabels>,
    /// The key's id, when accounting is on, for the dashboard's activity.
    key_id: Option<String>,
    /// Key and account labels, when accounting is on and [`switchyard_telemetry::metrics::MetricsConfig::key_labels`].
    key_labels: Option<[KeyValue; 2]>,
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
        let labels = catalog.labels().clone();
        let request_model = (resolved.and_then(|model| labels.request_model(&model.id)))
            .unwrap_or_else(|| KeyValue::new("gen_ai.request.model", "_OTHER"));
        let key_and_account = call.tab.key_and_account();
        let key_labels = (key_and_account.filter(|_| get().is_some_and(|m| m.key_labels()))).map(
            |(key, account)| {
                [
                    KeyValue::new("switchyard.key.id", key.to_owned()),
                    KeyValue::new("switchyard.account.id", account.to_owned()),
                ]
            },
        );
        Observer {
            request_model,
            labels,
            key_id: key_and_account.map(|(key, _)| key.to_owned()),
            key_labels,
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
        crate::served_spans::served(charge);
        let (team, user) = &self.team_and_user;
        let who = activity::Who {
            key: self.key_id.as_deref(),
            team: team.as_deref(),
            user: user.as_deref(),
        };
        let request_model = self.request_model.value.as_str();
        activity::record(Served::of(charge, &request_model, who, duration));
        self.record(charge, duration);
    }

    /// The metrics part of [`Observer::served`]: with the endpoint's labels built at load, it
    /// clones `Arc`s and allocates nothing.
    fn record(&self, charge: &Charge<'_>, duration: Duration) {
        let Some(metrics) = get() else {
            return;
        };
        let instruments = metrics.instruments();
        let (provider, response_model) = match self.labels.endpoint(charge.model, charge.provider) {
            Some(endpoint) => (endpoint.provider.clone(), endpoint.response_model.clone()),
            // Not in this catalog (it was reloaded meanwhile): labelled the slow way.
            None => (
                KeyValue::new("gen_ai.provider.name", charge.provider.to_owned()),
                KeyValue::new("gen_ai.response.model", charge.model.to_owned()),
            ),
        };
        let genai = [
            KeyValue::new("gen_ai.operation.name", "chat"),
            provider,
            self.request_model.clone(),
            response_model,
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
                let [operation, provider, request_model, response_model] = genai.clone();
                let attributes = [
                    operation,
                    provider,
                    request_model,
                    response_model,
                    KeyValue::new("gen_ai.token.type", kind),
                ];
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
        let [_, provider, _, response_model] = genai;
        let fee = charge.cost.total - charge.cost.upstream;
        for (part, amount) in [("upstream", charge.cost.upstream), ("fee", fee)] {
            let part = KeyValue::new("switchyard.cost.part", part);
            let amount = amount.to_f64().unwrap_or_default();
            let (provider, response_model) = (provider.clone(), response_model.clone());
            match &self.key_labels {
                Some([key, account]) => {
                    let attributes = [provider, response_model, key.clone(), account.clone(), part];
                    instruments.cost.add(amount, &attributes);
                }
                None => instruments
                    .cost
                    .add(amount, &[provider, response_model, part]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use opentelemetry::KeyValue;
    use rust_decimal::Decimal;

    use super::Observer;
    use switchyard_accounting::tab::Charge;
    use switchyard_domain::config::telemetry::MetricsConfig;
    use switchyard_domain::plugin_types::Usage;
    use switchyard_domain::pricing::Cost;
    use switchyard_telemetry::metrics::allocations::counted;
    use switchyard_telemetry::metrics::labels::{CatalogLabels, EndpointLabels, PluginLabels};
    use switchyard_telemetry::metrics::requests::{attempt, client_timeout, failover, plugin_call};
    use switchyard_telemetry::metrics::{get, install};

    fn charge() -> Charge<'static> {
        Charge {
            id: "gen-1",
            model: "openai/gpt-4o",
            provider: "openai",
            usage: Usage {
                prompt_tokens: 12,
                completion_tokens: 30,
                cached_tokens: 4,
                reasoning_tokens: 5,
                ..Usage::default()
            },
            usage_estimated: false,
            cost: Cost {
                upstream: Decimal::new(125, 6),
                total: Decimal::new(131, 6),
            },
            latency: Duration::from_millis(40),
            finish_reason: Some("stop"),
            streamed: true,
            cancelled: false,
            cache_hit: false,
            byok: false,
        }
    }

    /// Every recording of the request path, labelled as the gateway labels them.
    fn record_everything(observer: &Observer, endpoint: &EndpointLabels, plugin: &PluginLabels) {
        let charge = charge();
        observer.record(&charge, Duration::from_millis(900));
        crate::served_spans::served(&charge);
        attempt(endpoint, "success");
        attempt(endpoint, "timeout");
        failover("timeout");
        client_timeout(endpoint);
        plugin_call(plugin, "decode", Duration::from_micros(7), true);
        plugin_call(plugin, "decode", Duration::from_micros(9), false);
        switchyard_telemetry::traces::spans::plugin_call(
            "openai",
            "1.0.0",
            "decode",
            Duration::ZERO,
            None,
        );
    }

    #[test]
    fn recording_allocates_nothing_once_a_series_exists() {
        // Another test may have installed them first: either way they are installed.
        let _ = install(&MetricsConfig::default());
        assert!(get().is_some(), "metrics are installed");
        let endpoint = EndpointLabels::new("openai/gpt-4o", "openai");
        let labels = CatalogLabels::new([("openai/gpt-4o", vec![endpoint.clone()])]);
        let observer = Observer {
            request_model: labels.request_model("openai/gpt-4o").unwrap_or_else(|| {
                KeyValue::new("gen_ai.request.model", "missing from the catalog")
            }),
            labels: Arc::new(labels),
            key_id: Some("key-1".to_owned()),
            key_labels: Some([
                KeyValue::new("switchyard.key.id", "key-1"),
                KeyValue::new("switchyard.account.id", "account-1"),
            ]),
            team_and_user: (None, None),
        };
        let plugin = PluginLabels::new("openai", "1.0.0");
        // The first recording of each series creates it: that allocates.
        let first = counted(|| record_everything(&observer, &endpoint, &plugin));
        assert!(first > 0, "the counter counts ({first} allocations)");
        let again = counted(|| record_everything(&observer, &endpoint, &plugin));
        assert_eq!(again, 0, "recording into existing series allocated");
        let rendered = switchyard_telemetry::metrics::render();
        for expected in [
            r#"gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="openai/gpt-4o",gen_ai_response_model="openai/gpt-4o",gen_ai_token_type="reasoning"} 2"#,
            r#"switchyard_cost_usd_total{gen_ai_provider_name="openai",gen_ai_response_model="openai/gpt-4o",switchyard_account_id="account-1",switchyard_cost_part="fee",switchyard_key_id="key-1"} 0.000012"#,
            r#"switchyard_attempts_total{gen_ai_provider_name="openai",gen_ai_request_model="openai/gpt-4o",switchyard_outcome="timeout"} 2"#,
            r#"switchyard_plugin_call_duration_seconds_count{switchyard_outcome="fault",switchyard_plugin_function="decode",switchyard_plugin_name="openai",switchyard_plugin_version="1.0.0"} 2"#,
        ] {
            assert!(rendered.contains(expected), "{expected} in:\n{rendered}");
        }
    }
}
