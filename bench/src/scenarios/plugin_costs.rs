//! Section 6: what the plugin path costs per request, measured in process through the
//! `switchyard` library: a fresh adapter instance plus `build-request`, `parse-response`, the
//! per-event stream decode, the routing policy, and compiling a component, cold and from the
//! gateway's compile cache when it has one.

use std::time::Instant;

use anyhow::Context;
use switchyard_domain::config::Config;
use switchyard_domain::plugin_types::{
    CandidateStats, EndpointSettings, PolicyCandidate, PolicyRequest,
};
use switchyard_plugin_runtime::{PluginEngine, PluginRegistry};

use crate::load;
use crate::results::{CostRow, Dist, Plugins};

const REQUEST: &[u8] = br#"{"model":"bench/model","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello!"}]}"#;

/// Runs each operation `iterations` times and compiles the `openai` component `compiles` times.
pub async fn run(
    iterations: usize,
    compiles: usize,
    scratch: &std::path::Path,
) -> anyhow::Result<Plugins> {
    let mut costs = Vec::new();
    let bytes = switchyard_plugin_runtime::builtin::BUILTIN_PLUGINS
        .iter()
        .find(|(package, _)| package.ends_with("openai"))
        .map(|(_, bytes)| *bytes)
        .context("no built-in openai plugin")?;
    let kib = bytes.len() / 1024;

    // Cold compiles use an engine with the compile cache off, if the gateway has one.
    let (cold_config, cache) = cache_configs(scratch)?;
    let engine = PluginEngine::new(&cold_config.plugins).context("cannot create the engine")?;
    let mut cold = load::histogram();
    for _ in 0..compiles {
        let started = Instant::now();
        engine.compile(bytes).context("cannot compile openai")?;
        load::record(&mut cold, started.elapsed());
    }
    costs.push(row(
        &format!("compile openai component ({kib} KiB), no cache"),
        &cold,
    ));

    let cache_note = match cache {
        Some(cached_config) => {
            let warm_engine = PluginEngine::new(&cached_config.plugins)
                .context("cannot create the cached engine")?;
            warm_engine
                .compile(bytes)
                .context("cannot compile openai")?; // fills the cache
            let mut warm = load::histogram();
            for _ in 0..compiles.max(3) {
                // A new engine each time, like a restarted gateway.
                let engine = PluginEngine::new(&cached_config.plugins)
                    .context("cannot create the cached engine")?;
                let started = Instant::now();
                engine
                    .compile(bytes)
                    .context("cannot load openai from the cache")?;
                load::record(&mut warm, started.elapsed());
            }
            costs.push(row(
                &format!("load openai component ({kib} KiB) from the compile cache"),
                &warm,
            ));
            "on-disk compile cache (`plugins.cache`, wasmtime cache)".to_owned()
        }
        None => "no cache yet".to_owned(),
    };

    let registry = PluginRegistry::load(&engine, None)
        .await
        .context("cannot load the built-in plugins")?;
    let openai = registry.provider("openai").context("no openai adapter")?;
    let endpoint = EndpointSettings {
        base_url: "http://127.0.0.1:9/v1".into(),
        upstream_model: "gpt-4.1-nano".into(),
        options: vec![],
    };

    let mut instantiate = load::histogram();
    let mut build = load::histogram();
    for _ in 0..iterations {
        let started = Instant::now();
        let mut instance = openai.instantiate().await.context("instantiate")?;
        let built = Instant::now();
        instance
            .build_request(REQUEST, &endpoint, false)
            .await
            .context("build-request fault")?
            .map_err(|e| anyhow::anyhow!("build-request error: {e:?}"))?;
        load::record(&mut instantiate, built - started);
        load::record(&mut build, started.elapsed());
    }
    costs.push(row(
        "instantiate openai (fresh store + instance)",
        &instantiate,
    ));
    costs.push(row("instantiate + build-request (per request)", &build));

    let body = crate::mock::completion_body();
    let mut parse = load::histogram();
    for _ in 0..iterations {
        let mut instance = openai.instantiate().await.context("instantiate")?;
        let started = Instant::now();
        instance
            .parse_response(200, vec![], body.to_vec())
            .await
            .context("parse-response fault")?
            .map_err(|e| anyhow::anyhow!("parse-response error: {e:?}"))?;
        load::record(&mut parse, started.elapsed());
    }
    costs.push(row(
        &format!(
            "parse-response ({:.1} KiB body)",
            body.len() as f64 / 1024.0
        ),
        &parse,
    ));

    let events = crate::mock::chunk_events(20);
    let mut decode = load::histogram();
    for _ in 0..iterations.div_ceil(20).max(5) {
        let mut instance = openai.instantiate().await.context("instantiate")?;
        instance
            .start_stream(&endpoint)
            .await
            .context("start-stream")?;
        for data in &events {
            let event = switchyard_sdk::sse::Event {
                event: None,
                data: data.clone(),
            };
            let started = Instant::now();
            instance
                .decode(event)
                .await
                .context("decode fault")?
                .map_err(|e| anyhow::anyhow!("decode error: {e:?}"))?;
            load::record(&mut decode, started.elapsed());
        }
    }
    costs.push(row("decode, per stream event", &decode));

    let price = registry.router("price").context("no price policy")?;
    let candidates: Vec<PolicyCandidate> = (0..2)
        .map(|i| PolicyCandidate {
            provider: format!("mock_{i}"),
            model: "bench/model".into(),
            prompt_price: 0.1 * (i + 1) as f64,
            completion_price: 0.4 * (i + 1) as f64,
            weight: 1.0,
            stats: CandidateStats::default(),
        })
        .collect();
    let mut order = load::histogram();
    for seed in 0..iterations as u64 {
        let request = PolicyRequest {
            model: "bench/model".into(),
            estimated_prompt_tokens: 100,
            max_tokens: None,
            seed,
        };
        let started = Instant::now();
        price
            .order(&request, &candidates)
            .await
            .context("price policy fault")?;
        load::record(&mut order, started.elapsed());
    }
    costs.push(row("price policy: instantiate + order 2 endpoints", &order));

    Ok(Plugins {
        costs,
        cache: cache_note,
    })
}

/// A configuration with the compile cache off, and one with it on in `scratch` when the gateway
/// has such a setting (unknown keys are refused, so parsing tells).
fn cache_configs(scratch: &std::path::Path) -> anyhow::Result<(Config, Option<Config>)> {
    let dir = scratch.join("compile-cache");
    let _ = std::fs::remove_dir_all(&dir);
    let cold = Config::parse("[plugins]\ncache = false\n").ok();
    let warm = Config::parse(&format!(
        "[plugins]\ncache = true\ncache_dir = \"{}\"\n",
        dir.display()
    ))
    .ok();
    Ok(match (cold, warm) {
        (Some(cold), Some(warm)) => (cold, Some(warm)),
        _ => (
            Config::parse("").context("the empty configuration is refused")?,
            None,
        ),
    })
}

fn row(name: &str, histogram: &hdrhistogram::Histogram<u64>) -> CostRow {
    CostRow {
        name: name.to_owned(),
        dist: Dist::of(histogram),
    }
}
