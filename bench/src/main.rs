//! `switchyard-bench`: one command that measures Switchyard against the direct path, a bare
//! hyper proxy hop, nginx, LiteLLM and Portkey on the same fast mock upstream, and writes
//! `bench/results/latest.{json,md,png}`.
//!
//! `cargo run --release -p switchyard-bench -- run` is the full run (peers installed under
//! `bench/.peers` on first use); `-- run --quick` takes seconds, skips the peers and proves the
//! harness works (for CI; it asserts nothing about timings).

mod chart;
mod contenders;
mod history;
mod load;
mod machine;
mod mock;
mod process;
mod proxy;
mod report;
mod results;
mod scenarios;
mod targets;
mod usage;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::{Parser, Subcommand};

use contenders::{Contender, gateway, litellm, local, nginx, portkey};
use results::{PeerStatus, Results};
use scenarios::{Plan, memory};

#[derive(Parser)]
#[command(about = "Switchyard benchmark harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the benchmark and write the report.
    Run {
        /// A seconds-long run without peers, to prove the harness works (CI).
        #[arg(long)]
        quick: bool,
        /// Skip LiteLLM and Portkey.
        #[arg(long)]
        no_peers: bool,
        /// Soak length in seconds (default: 300 full, 5 quick).
        #[arg(long)]
        soak_secs: Option<u64>,
        /// Where the report goes.
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
        out: PathBuf,
    },
    /// Record a CPU profile of the gateway under the closed-loop load and print where its CPU
    /// goes (the kernel's share, each binary's, the top symbols). Needs `perf`.
    Profile {
        /// Seconds to record.
        #[arg(long, default_value_t = 8)]
        secs: u64,
        /// Connections of the load.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Profile a gateway with accounting on this database (one key with ample credits);
        /// PostgreSQL's URL is read from `SWITCHYARD_BENCH_POSTGRES_URL`.
        #[arg(long, value_enum)]
        keys: Option<scenarios::keys_on::Database>,
        /// Profile this gateway binary (keys off) instead of the one beside this program.
        #[arg(long)]
        gateway: Option<PathBuf>,
        /// Request body of the load: `small` (~100 B), `medium` (~10 KB) or `large` (~100 KB).
        #[arg(long, value_enum, default_value = "small")]
        body: history::BodySize,
        /// Load it with streamed requests, each answered with a burst of 100 chunks.
        #[arg(long)]
        stream: bool,
    },
    /// Measure only what accounting costs (section "Keys on" of the full run) and print it.
    Keys {
        /// Seconds long: proves the measurement works, numbers are rough.
        #[arg(long)]
        quick: bool,
    },
    /// Compare gateway builds by CPU per request (section 2b alone, keys off): the mock, nginx
    /// and each `--gateway NAME=PATH` in the same interleaved rounds, so an A/B of two builds
    /// shares the machine's drift.
    Cpu {
        /// A gateway binary to measure, as `NAME=PATH` (repeat; default: the one beside this
        /// program).
        #[arg(long = "gateway", value_parser = named_path)]
        gateways: Vec<(String, PathBuf)>,
        /// Counted rounds per body size.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Seconds of one round.
        #[arg(long, default_value_t = 2)]
        secs: u64,
    },
    /// Measure only what a response cache hit costs (section "Response cache" of the full
    /// run) and print it; `--quick` for seconds-long rounds.
    Cache {
        /// Seconds-long rounds (rough numbers, proves the section works).
        #[arg(long)]
        quick: bool,
    },
    /// Serve the mock upstream (used by `run`).
    #[command(hide = true)]
    Mock {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
    /// Serve the bare proxy (used by `run`).
    #[command(hide = true)]
    Proxy {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        #[arg(long)]
        upstream: SocketAddr,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    match cli.command {
        Command::Mock { listen } => runtime.block_on(mock::serve(listen)),
        Command::Proxy { listen, upstream } => runtime.block_on(proxy::serve(listen, upstream)),
        Command::Profile {
            secs,
            connections,
            keys,
            gateway,
            body,
            stream,
        } => runtime.block_on(profile(
            Duration::from_secs(secs),
            connections,
            keys,
            gateway,
            (body, stream),
        )),
        Command::Keys { quick } => runtime.block_on(keys_on(quick)),
        Command::Cpu {
            gateways,
            rounds,
            secs,
        } => {
            let mut plan = Plan::full();
            plan.cpu_rounds = rounds;
            plan.cpu_round = Duration::from_secs(secs);
            runtime.block_on(compare_cpu(gateways, &plan))
        }
        Command::Cache { quick } => runtime.block_on(cache(quick)),
        Command::Run {
            quick,
            no_peers,
            soak_secs,
            out,
        } => {
            let mut plan = if quick { Plan::quick() } else { Plan::full() };
            if let Some(secs) = soak_secs {
                plan.soak = Duration::from_secs(secs);
            }
            runtime.block_on(run(plan, quick, !quick && !no_peers, &out))
        }
    }
}

/// Starts the mock and the gateway (with accounting on `keys`, if given), profiles the gateway
/// under load and prints section 7.
async fn profile(
    duration: Duration,
    connections: usize,
    keys: Option<scenarios::keys_on::Database>,
    binary: Option<PathBuf>,
    (body, stream): (history::BodySize, bool),
) -> anyhow::Result<()> {
    let work = std::env::temp_dir().join(format!("switchyard-profile-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let mock = local::start_mock(&work).await?;
    let (gateway, target) = match keys {
        Some(database) => {
            scenarios::keys_on::start_keyed(database, mock.target.addr, &work).await?
        }
        None => {
            let binary = match binary {
                Some(binary) => binary,
                None => gateway::binary()?,
            };
            let name = "switchyard";
            // The plugins' compiled functions are named in the profile, not `[JIT]` addresses.
            let perf_map = "\n[plugins]\nperf_map = true\n";
            let gateway =
                gateway::start_binary(&binary, name, mock.target.addr, &work, perf_map, &[])
                    .await?;
            let target = gateway.contender.target.clone();
            (gateway, target)
        }
    };
    let pid = gateway.contender.process.pid();
    // Warm up: the first requests compile nothing but fill pools and caches.
    let model = match stream {
        true => contenders::models::BURST,
        false => contenders::models::PLAIN,
    };
    let payload = load::Payload::sized(model, body, stream);
    load::closed_loop(&target, &payload, connections, Duration::from_secs(1)).await?;
    let profile =
        scenarios::profile::run_with(&target, &payload, pid, connections, duration, &work).await?;
    print!("{}", report::profile_section(&profile));
    drop(gateway);
    drop(mock);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// Starts the mock and the keys-off gateway, measures keys on against it and prints the section.
async fn keys_on(quick: bool) -> anyhow::Result<()> {
    let work = std::env::temp_dir().join(format!("switchyard-keys-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let plan = if quick { Plan::quick() } else { Plan::full() };
    let mock = local::start_mock(&work).await?;
    let gateway = gateway::start(mock.target.addr, &work).await?;
    let (rows, errors) =
        scenarios::keys_on::run(mock.target.addr, &gateway.contender.target, &plan, &work).await;
    print!("{}", scenarios::keys_on::markdown(&rows, plan.connections));
    for error in &errors {
        eprintln!("{error}");
    }
    drop(gateway);
    drop(mock);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// `NAME=PATH` of the `cpu` command.
fn named_path(text: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=PATH, got {text:?}"))?;
    Ok((name.to_owned(), PathBuf::from(path)))
}

/// Starts the mock, nginx and each gateway build, measures CPU per request of all of them in
/// the same rounds and prints the table.
async fn compare_cpu(gateways: Vec<(String, PathBuf)>, plan: &Plan) -> anyhow::Result<()> {
    let work = std::env::temp_dir().join(format!("switchyard-cpu-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let gateways = if gateways.is_empty() {
        vec![("switchyard".to_owned(), gateway::binary()?)]
    } else {
        gateways
    };
    let mock = local::start_mock(&work).await?;
    let nginx = nginx::start(mock.target.addr, &work).await?;
    let mut metered = vec![
        scenarios::cpu::Metered {
            target: mock.target.clone(),
            pids: vec![mock.process.pid()],
        },
        scenarios::cpu::Metered {
            target: nginx.contender.target.clone(),
            pids: nginx.workers.clone(),
        },
    ];
    let mut running = Vec::new();
    for (name, binary) in &gateways {
        let started = gateway::start_binary(binary, name, mock.target.addr, &work, "", &[]).await?;
        metered.push(scenarios::cpu::Metered {
            target: started.contender.target.clone(),
            pids: vec![started.contender.process.pid()],
        });
        running.push(started);
    }
    let mut rows = scenarios::cpu::run(&metered, plan).await;
    let (floor, gateways) = metered.split_at(2);
    rows.extend(scenarios::refusal::run(floor.get(1), gateways, plan).await);
    let mut md = String::new();
    report::cpu_table(&mut md, &rows, plan.connections);
    println!("{md}");
    Ok(())
}

/// Starts the mock, nginx and the uncached gateway, measures the response cache against them
/// and prints the section.
async fn cache(quick: bool) -> anyhow::Result<()> {
    let work = std::env::temp_dir().join(format!("switchyard-cache-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let plan = if quick { Plan::quick() } else { Plan::full() };
    let mock = local::start_mock(&work).await?;
    let nginx = match nginx::start(mock.target.addr, &work).await {
        Ok(nginx) => Some(nginx),
        Err(error) => {
            eprintln!("nginx did not start: {error:#}");
            None
        }
    };
    let gateway = gateway::start(mock.target.addr, &work).await?;
    let nginx_metered = nginx.as_ref().map(|nginx| scenarios::cpu::Metered {
        target: nginx.contender.target.clone(),
        pids: nginx.workers.clone(),
    });
    let uncached = scenarios::cpu::Metered {
        target: gateway.contender.target.clone(),
        pids: vec![gateway.contender.process.pid()],
    };
    let section = scenarios::cache::run(
        mock.target.addr,
        nginx_metered.as_ref(),
        &uncached,
        &plan,
        &work,
    )
    .await?;
    print!("{}", scenarios::cache::markdown(&section, plan.connections));
    drop(gateway);
    drop(nginx);
    drop(mock);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// Accounts whose keys the many-accounts run takes in turn.
const ACCOUNTS: usize = 32;

/// A gateway with accounting on (SQLite) and two ways to load it: one key, and one key on each
/// of [`ACCOUNTS`] accounts taken in turn (so per-account state is exercised, not one hot pool).
async fn keyed_contenders(
    mock: std::net::SocketAddr,
    work: &Path,
) -> anyhow::Result<(gateway::Gateway, Vec<scenarios::cpu::Metered>)> {
    let database = scenarios::keys_on::Database::Sqlite;
    let (keyed, mut one) = scenarios::keys_on::start_keyed(database, mock, work).await?;
    let mut many = scenarios::keys_on::many_accounts(&one, ACCOUNTS).await?;
    one.name = "switchyard keys on, 1 key".to_owned();
    many.name = format!("switchyard keys on, {ACCOUNTS} accounts");
    let pids = vec![keyed.contender.process.pid()];
    let metered = [one, many].map(|target| scenarios::cpu::Metered {
        target,
        pids: pids.clone(),
    });
    Ok((keyed, metered.into()))
}

/// Prints a progress line to stderr.
fn step(started: Instant, message: &str) {
    eprintln!("[{:>6.1}s] {message}", started.elapsed().as_secs_f64());
}

async fn run(plan: Plan, quick: bool, with_peers: bool, out: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let work = std::env::temp_dir().join(format!("switchyard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let peers_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".peers");

    let mut results = Results {
        meta: machine::meta(if quick { "quick" } else { "full" }),
        ..Results::default()
    };
    results.meta.started_unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();

    step(
        started,
        "starting the mock upstream, the bare proxy, nginx and the gateway",
    );
    let mock = local::start_mock(&work).await?;
    let proxy = local::start_proxy(mock.target.addr, &work).await?;
    // nginx is the floor of issue 24's ratios; without it the rest still runs.
    let nginx = match nginx::start(mock.target.addr, &work).await {
        Ok(nginx) => Some(nginx),
        Err(error) => {
            let reason = format!("nginx did not start: {error:#}");
            step(started, &reason);
            results.failures.push(reason);
            None
        }
    };
    results.meta.peers.push(PeerStatus {
        name: "nginx".to_owned(),
        version: format!("{} (2 workers; the floor)", nginx::version()),
        status: if nginx.is_some() { "ok" } else { "failed" }.to_owned(),
    });
    let gateway = gateway::start(mock.target.addr, &work).await?;
    results.meta.gateway_startup_ms = gateway.startup.as_secs_f64() * 1e3;
    let gateway_pid = gateway.contender.process.pid();
    tokio::time::sleep(Duration::from_millis(500)).await;
    results.memory.idle_mib = process::rss_bytes(gateway_pid)
        .map(memory::mib)
        .unwrap_or_default();

    let mut peers: Vec<Contender> = Vec::new();
    if with_peers {
        step(
            started,
            "starting LiteLLM and Portkey (installed on first use)",
        );
        let node = portkey::node_version();
        for (name, version, outcome) in [
            (
                "litellm",
                format!("litellm[proxy]=={} (2 workers)", litellm::VERSION),
                litellm::start(&peers_dir, mock.target.addr, &work).await,
            ),
            (
                "portkey",
                format!("@portkey-ai/gateway@{} on Node {node}", portkey::VERSION),
                portkey::start(&peers_dir, mock.target.addr, &work).await,
            ),
        ] {
            let status = match outcome {
                Ok(contender) => {
                    peers.push(contender);
                    "ok".to_owned()
                }
                Err(error) => {
                    let reason = format!("{name} did not start: {error:#}");
                    step(started, &reason);
                    results.failures.push(reason.clone());
                    format!("failed: {error:#}")
                }
            };
            results.meta.peers.push(PeerStatus {
                name: name.to_owned(),
                version,
                status,
            });
        }
    } else {
        for name in ["litellm", "portkey"] {
            results.meta.peers.push(PeerStatus {
                name: name.to_owned(),
                version: String::new(),
                status: if quick {
                    "skipped (quick mode)"
                } else {
                    "skipped (--no-peers)"
                }
                .to_owned(),
            });
        }
    }

    // Direct first: every added figure is against it.
    let mut targets = vec![mock.target.clone(), proxy.target.clone()];
    targets.extend(nginx.iter().map(|n| n.contender.target.clone()));
    targets.push(gateway.contender.target.clone());
    targets.extend(peers.iter().map(|p| p.target.clone()));

    step(started, "1/6 added latency at concurrency 1");
    match scenarios::latency::run(&targets, plan.warmup, plan.serial_requests).await {
        Ok(rows) => results.latency = rows,
        Err(error) => results.failures.push(format!("latency: {error:#}")),
    }

    step(started, "2/6 throughput and latency under load");
    let sampler = memory::PeakSampler::start(gateway_pid);
    match scenarios::throughput::run(&targets, &plan).await {
        Ok(section) => results.throughput = section,
        Err(error) => results.failures.push(format!("throughput: {error:#}")),
    }
    results.memory.load_peak_mib = sampler.finish();

    step(started, "2/6 keys on (accounting enabled)");
    let (rows, errors) =
        scenarios::keys_on::run(mock.target.addr, &gateway.contender.target, &plan, &work).await;
    results.keys_on = rows;
    results.failures.extend(errors);

    step(
        started,
        "2/6 CPU per request by body size (keys off, 1 key, 32 accounts)",
    );
    let mut metered = vec![
        scenarios::cpu::Metered {
            target: mock.target.clone(),
            pids: vec![mock.process.pid()],
        },
        scenarios::cpu::Metered {
            target: proxy.target.clone(),
            pids: vec![proxy.process.pid()],
        },
    ];
    if let Some(nginx) = &nginx {
        metered.push(scenarios::cpu::Metered {
            target: nginx.contender.target.clone(),
            pids: nginx.workers.clone(),
        });
    }
    metered.push(scenarios::cpu::Metered {
        target: gateway.contender.target.clone(),
        pids: vec![gateway_pid],
    });
    let keyed = match keyed_contenders(mock.target.addr, &work).await {
        Ok((keyed, contenders)) => {
            metered.extend(contenders);
            Some(keyed)
        }
        Err(error) => {
            results
                .failures
                .push(format!("CPU per request, keys on: {error:#}"));
            None
        }
    };
    results.cpu = scenarios::cpu::run(&metered, &plan).await;
    drop(keyed);

    step(started, "2/6 CPU per refused request (40,000 `models`)");
    let nginx_metered = nginx.as_ref().map(|nginx| scenarios::cpu::Metered {
        target: nginx.contender.target.clone(),
        pids: nginx.workers.clone(),
    });
    let keys_off = scenarios::cpu::Metered {
        target: gateway.contender.target.clone(),
        pids: vec![gateway_pid],
    };
    let gateways = std::slice::from_ref(&keys_off);
    let refusals = scenarios::refusal::run(nginx_metered.as_ref(), gateways, &plan).await;
    results.cpu.extend(refusals);

    step(started, "2/6 response cache hits (CPU per request)");
    match scenarios::cache::run(
        mock.target.addr,
        nginx_metered.as_ref(),
        &keys_off,
        &plan,
        &work,
    )
    .await
    {
        Ok(section) => results.cache = Some(section),
        Err(error) => results.failures.push(format!("response cache: {error:#}")),
    }

    step(started, "3/6 streaming");
    match scenarios::streaming::serial(&targets, plan.warmup / 5, plan.serial_streams).await {
        Ok(rows) => results.streaming.serial = rows,
        Err(error) => results.failures.push(format!("streaming: {error:#}")),
    }
    results.streaming.chunks = scenarios::streaming::CHUNKS;
    results.streaming.concurrent_streams = plan.concurrent_streams;
    let sampler = memory::PeakSampler::start(gateway_pid);
    results.streaming.concurrent =
        scenarios::streaming::concurrent(&targets, plan.concurrent_streams).await;
    results.memory.streams_peak_mib = sampler.finish();
    drop(peers); // free their CPU for the soak

    step(
        started,
        &format!("4/6 memory soak ({} s)", plan.soak.as_secs()),
    );
    match memory::soak(
        &gateway.contender.target,
        gateway_pid,
        plan.soak,
        plan.soak_rates,
        plan.connections,
    )
    .await
    {
        Ok(soak) => results.memory.soak = soak,
        Err(error) => results.failures.push(format!("soak: {error:#}")),
    }
    step(started, "5/6 CPU profile of the gateway under load");
    match scenarios::profile::run(
        &gateway.contender.target,
        gateway_pid,
        plan.connections,
        plan.profile,
        &work,
    )
    .await
    {
        Ok(profile) => results.profile = Some(profile),
        Err(error) => results.failures.push(format!("profile: {error:#}")),
    }
    drop(gateway);
    drop(nginx);
    drop(proxy);
    drop(mock);

    step(started, "6/6 plugin costs");
    match scenarios::plugin_costs::run(plan.plugin_iterations, plan.compiles, &work).await {
        Ok(section) => results.plugins = section,
        Err(error) => results.failures.push(format!("plugin costs: {error:#}")),
    }

    results.floor_targets = targets::floor(&results);
    results.targets = targets::evaluate(&results);
    if let Err(error) = chart::draw(&results, &out.join("latest.png")) {
        results.failures.push(format!("chart: {error:#}"));
    }
    results.meta.duration_s = started.elapsed().as_secs_f64();
    report::write(&results, out)?;
    step(
        started,
        &format!("done: {}", out.join("latest.md").display()),
    );
    println!("{}", report::targets_table(&results));
    if results.failures.is_empty() {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        eprintln!("failures (logs kept in {}):", work.display());
        for failure in &results.failures {
            eprintln!("  - {failure}");
        }
    }
    Ok(())
}
