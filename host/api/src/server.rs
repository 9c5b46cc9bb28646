//! Starting the gateway: load plugins, resolve the catalog, bind, serve until a shutdown signal.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::AppState;
use crate::ingress;
use switchyard_accounting::Accounting;
use switchyard_catalog::Catalog;
use switchyard_catalog::stats_sync::StatsSync;
use switchyard_domain::config::Config;
use switchyard_gateway::Gateway;
use switchyard_gateway::upstream::Upstream;
use switchyard_plugin_runtime::{PluginEngine, PluginRegistry, watcher};
use switchyard_routing::shadow::Shadow;
use switchyard_routing::sticky::Sticky;
use switchyard_telemetry::metrics;
use switchyard_telemetry::traces;

mod connections;
mod heap;

/// Builds the application state from a configuration: compiles and self-tests every plugin.
pub async fn build_state(config: &Config) -> anyhow::Result<AppState> {
    let engine = PluginEngine::new(&config.plugins).context("starting the plugin engine")?;
    let plugins = Arc::new(
        PluginRegistry::load(&engine, config.plugins.dir.as_deref())
            .await
            .context("loading plugins")?,
    );
    plugins.set_replay_gates(switchyard_plugin_runtime::gate::from_config(config));
    plugins.check_loaded().await.context("the plugins folder")?;
    if let (Some(dir), true) = (&config.plugins.dir, config.plugins.watch) {
        let interval = std::time::Duration::from_millis(config.plugins.watch_interval_ms.max(50));
        watcher::spawn(plugins.clone(), dir.clone(), interval);
    }
    let catalog = Catalog::build(config, &plugins).context("resolving the model catalog")?;
    let upstream = Upstream::new(&config.server).context("creating the upstream HTTP client")?;
    let shadow = Shadow::start(&config.routing.shadow, &catalog, plugins.clone())?;
    let transforms =
        switchyard_gateway::transforms::Transforms::start(&config.transforms, plugins.clone())
            .await
            .context("[transforms]")?;
    let shared_stats = &config.routing.shared_stats;
    if let Some(url) = (shared_stats.redis_url.as_ref()).or(config.accounting.redis_url.as_ref()) {
        StatsSync::new(&catalog, url, shared_stats)
            .context("routing.shared_stats")?
            .spawn();
    }
    Ok(AppState {
        gateway: Arc::new(Gateway {
            catalog,
            upstream,
            fee_percent: config.pricing.platform_fee_percent,
            routing: config.routing.clone(),
            sticky: Sticky::new(config.routing.sticky),
            plugins: plugins.clone(),
            shadow,
            cache: Arc::new(switchyard_gateway::cache::Cache::new(&config.cache).context("cache")?),
            transforms,
        }),
        plugins,
        admin_token: admin_token(config),
        max_body_bytes: config.server.max_body_bytes,
        stream_keepalive: (config.server.keepalive_ms > 0)
            .then(|| std::time::Duration::from_millis(config.server.keepalive_ms)),
        presets: presets(config),
        audit_retention_days: config.admin.audit_retention_days,
        sso: match &config.admin.sso {
            Some(_) if !config.accounting.enabled => {
                anyhow::bail!(
                    "admin.sso needs accounting.enabled: its tokens live in the accounting database"
                )
            }
            Some(sso) => Some(Arc::new(
                crate::sso::Sso::new(sso).context("single sign-on")?,
            )),
            None => None,
        },
        accounting: if config.accounting.enabled {
            let accounting = Accounting::start(&config.accounting)
                .await
                .context("opening the accounting database")?;
            Some(Arc::new(accounting))
        } else {
            None
        },
    })
}

/// The configured presets, reloaded when the configuration file changes.
fn presets(config: &Config) -> Arc<crate::presets::Presets> {
    use crate::presets::{Presets, WATCH_INTERVAL, watch};
    let presets = Arc::new(Presets::new(config.presets.clone()));
    if let Some(path) = &config.source {
        watch(&presets, path.clone(), WATCH_INTERVAL);
    }
    presets
}

/// The admin token from the configured environment variable; `None` disables the admin API.
fn admin_token(config: &Config) -> Option<String> {
    match std::env::var(&config.admin.token_env) {
        Ok(token) if !token.is_empty() => Some(token),
        _ => {
            tracing::info!(variable = %config.admin.token_env, "admin API disabled: its token variable is not set");
            None
        }
    }
}

/// Serves until SIGINT or SIGTERM; in-flight requests finish first.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let state = build_state(&config).await?;
    heap::release_freed();
    if config.metrics.enabled {
        metrics::install(&config.metrics)?;
        switchyard_gateway::gauges::observe(&state.gateway);
    }
    let exporting = traces::install(&config.traces)?;
    let app = crate::metrics_http::wire(
        crate::table::router(state.clone()),
        &config.metrics,
        state.admin_token.clone(),
    )
    .await?;
    let app = crate::traces_http::wire(app);
    let app = ingress::Ingress::of(&config.server).wire(app);
    let listener = TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    // Tests and scripts read this line to find the port when listening on port 0.
    println!("switchyard listening on http://{address}");
    tracing::info!(%address, "switchyard listening");
    let accounting = state.accounting.clone();
    let limits = connections::ConnectionLimits::of(&config.server);
    connections::serve(listener, app, limits, shutdown_signal()).await;
    if let Some(accounting) = accounting {
        accounting.drain().await;
    }
    if let Some(exporting) = exporting {
        exporting.shutdown().await;
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
