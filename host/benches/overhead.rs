//! Per-request costs of the plugin path and the gateway's added latency, reported as numbers.
//!
//! `cargo bench -p switchyard --bench overhead` (release build). It measures, in one run:
//! - plugin costs: compiling a component; a fresh instance plus `build-request`; `parse-response`
//!   of a recorded OpenAI body; decoding one recorded stream event; a routing-policy call;
//! - added latency at concurrency 1: the same non-streamed request sent straight to the mock
//!   upstream and through the gateway (in-process, real HTTP on loopback), interleaved so machine
//!   drift cancels out, with p50/p90/p99 of each and of the difference.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use switchyard_domain::config::Config;
use switchyard_domain::plugin_types::{
    CandidateStats, EndpointSettings, PolicyCandidate, PolicyRequest,
};
use switchyard_plugin_runtime::{PluginEngine, PluginRegistry};
use switchyard_tests::MockUpstream;

const ITERATIONS: usize = 2_000;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn report(name: &str, samples: &mut [Duration]) {
    let p50 = percentile(samples, 0.50);
    let p90 = percentile(samples, 0.90);
    let p99 = percentile(samples, 0.99);
    println!(
        "| {name} | {:.1} | {:.1} | {:.1} |",
        p50.as_secs_f64() * 1e6,
        p90.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!("| measurement | p50 µs | p90 µs | p99 µs |");
        println!("|---|---|---|---|");
        plugin_costs().await;
        added_latency().await;
    });
}

async fn plugin_costs() {
    let config = Config::parse("").unwrap();
    let engine = PluginEngine::new(&config.plugins).unwrap();

    let bytes = switchyard_plugin_runtime::builtin::BUILTIN_PLUGINS
        .iter()
        .find(|(package, _)| package.ends_with("openai"))
        .map(|(_, bytes)| *bytes)
        .unwrap();
    let mut compile = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        engine.compile(bytes).unwrap();
        compile.push(started.elapsed());
    }
    report(
        &format!("compile openai component ({} KB)", bytes.len() / 1024),
        &mut compile,
    );

    let registry = PluginRegistry::load(&engine, None).await.unwrap();
    let openai = registry.provider("openai").unwrap();
    let endpoint = EndpointSettings {
        base_url: "https://api.openai.com/v1".into(),
        upstream_model: "gpt-4.1-nano".into(),
        options: vec![],
    };
    let request = br#"{"model":"openai/gpt-4.1-nano","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello!"}]}"#;

    let mut instantiate = Vec::new();
    let mut build = Vec::new();
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        let mut instance = openai.instantiate().await.unwrap();
        instantiate.push(started.elapsed());
        let started = Instant::now();
        instance
            .build_request(request, &endpoint, false)
            .await
            .unwrap()
            .unwrap();
        build.push(started.elapsed());
    }
    report(
        "instantiate openai (fresh store + instance)",
        &mut instantiate,
    );
    report("openai build-request", &mut build);

    let fixtures = switchyard_tests::fixtures_dir();
    let body = std::fs::read(fixtures.join("openai/openai-text.json")).unwrap();
    let mut parse = Vec::new();
    for _ in 0..ITERATIONS {
        let mut instance = openai.instantiate().await.unwrap();
        let started = Instant::now();
        instance
            .parse_response(200, vec![], body.clone())
            .await
            .unwrap()
            .unwrap();
        parse.push(started.elapsed());
    }
    report("openai parse-response (2.6 KB body)", &mut parse);

    let events: Vec<String> =
        std::fs::read_to_string(fixtures.join("openai/openai-text.chunks.txt"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
    let mut decode = Vec::new();
    for _ in 0..20 {
        let mut instance = openai.instantiate().await.unwrap();
        instance.start_stream(&endpoint).await.unwrap();
        for data in &events {
            let event = switchyard_sdk::sse::Event {
                event: None,
                data: data.clone(),
            };
            let started = Instant::now();
            instance.decode(event).await.unwrap().unwrap();
            decode.push(started.elapsed());
        }
    }
    report("openai decode, per stream event", &mut decode);

    let price = registry.router("price").unwrap();
    let candidates: Vec<PolicyCandidate> = (0..3)
        .map(|i| PolicyCandidate {
            provider: format!("p{i}"),
            model: "m".into(),
            prompt_price: 1.0 + i as f64,
            completion_price: 2.0,
            weight: 1.0,
            stats: CandidateStats::default(),
        })
        .collect();
    let mut order = Vec::new();
    for seed in 0..ITERATIONS as u64 {
        let summary = PolicyRequest {
            model: "m".into(),
            estimated_prompt_tokens: 100,
            max_tokens: None,
            seed,
        };
        let started = Instant::now();
        price.order(&summary, &candidates).await.unwrap();
        order.push(started.elapsed());
    }
    report("price policy: instantiate + order 3 candidates", &mut order);
}

async fn added_latency() {
    let mock = MockUpstream::start().await.unwrap();
    let scenario = "fixture=openai/openai-text";
    let config = Config::parse(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\
         [providers.mock]\nplugin = \"openai\"\nbase_url = \"{}\"\n\
         [[models]]\nid = \"bench/model\"\nendpoints = [{{ provider = \"mock\", upstream_model = \"gpt-4.1-nano\", prompt_price = \"0.1\", completion_price = \"0.4\" }}]\n",
        mock.base_url(scenario)
    ))
    .unwrap();
    let state = switchyard_api::server::build_state(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = format!(
        "http://{}/v1/chat/completions",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, switchyard_api::table::router(state)).await });
    let direct = format!("{}/chat/completions", mock.base_url(scenario));

    let client = reqwest::Client::new();
    let body = serde_json::json!({
        "model": "bench/model",
        "messages": [{ "role": "user", "content": "Hello!" }]
    });
    let send = |url: String| {
        let request = client.post(url).json(&body);
        async move {
            let started = Instant::now();
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap();
            started.elapsed()
        }
    };
    for _ in 0..200 {
        send(direct.clone()).await;
        send(gateway.clone()).await;
    }
    let mut direct_samples = Vec::new();
    let mut gateway_samples = Vec::new();
    for _ in 0..ITERATIONS {
        direct_samples.push(send(direct.clone()).await);
        gateway_samples.push(send(gateway.clone()).await);
    }
    let mut added: Vec<Duration> = gateway_samples
        .iter()
        .zip(&direct_samples)
        .map(|(g, d)| g.saturating_sub(*d))
        .collect();
    report("non-stream request, direct to mock", &mut direct_samples);
    report(
        "non-stream request, through switchyard",
        &mut gateway_samples,
    );
    report("added by switchyard (paired difference)", &mut added);
}
