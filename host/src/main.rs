//! The `switchyard` command line.

mod logging;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchyard::admin_cli::{self, ByokCommand, CreditsCommand, KeysCommand, TokensCommand};
use switchyard::cli::{self, PluginKind, WireFormat};
use switchyard::demo::DemoUpstream;
use switchyard_catalog::commands::{ImportRequest, import_price_map, list_models};
use switchyard_catalog::listing::ModelFilter;
use switchyard_domain::config::{Config, DEFAULT_CONFIG};

/// mimalloc instead of glibc's malloc: the request path allocates and frees many small and a few
/// body-sized buffers per request across worker threads, where glibc's arenas spent about a fifth
/// of the gateway's CPU (`malloc`, `_int_free`, `malloc_consolidate` in the bench's profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Switchyard: an OpenAI-compatible LLM router with WebAssembly provider adapters.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the gateway.
    Serve {
        /// Configuration file (TOML). Without it the built-in configuration is used.
        #[arg(long, short, env = "SWITCHYARD_CONFIG")]
        config: Option<PathBuf>,
        /// Overrides `server.listen`, e.g. `0.0.0.0:8080`.
        #[arg(long)]
        listen: Option<String>,
        /// Adds demo models served by a built-in local upstream (no provider key needed).
        #[arg(long)]
        demo: bool,
    },
    /// Prints the built-in configuration, a starting point for your own.
    DefaultConfig,
    /// Plugin tools: scaffold, check, list.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Catalog tools: import a price list.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Lists the models a configuration serves, with prices (USD per million tokens).
    Models {
        /// Configuration file (TOML). Without it the built-in configuration is used.
        #[arg(long, short, env = "SWITCHYARD_CONFIG")]
        config: Option<PathBuf>,
        /// Every known model, not only those with an enabled provider.
        #[arg(long)]
        all: bool,
        /// Only models supporting all these parameters (comma-separated), e.g. `tools`.
        #[arg(long)]
        supported_parameters: Option<String>,
        /// Only models producing any of these modalities (comma-separated), e.g. `text`.
        #[arg(long)]
        output_modalities: Option<String>,
    },
    /// API keys of a running gateway (admin API): create, list, update, delete.
    #[command(subcommand)]
    Keys(Box<KeysCommand>),
    /// Credits of a running gateway's accounts (admin API).
    #[command(subcommand)]
    Credits(CreditsCommand),
    /// Admin tokens of a running gateway (admin API, owners): create, list, delete.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Accounts' own provider keys (BYOK) on a running gateway (admin API).
    #[command(subcommand)]
    Byok(ByokCommand),
}

#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// Converts LiteLLM's model_prices_and_context_window.json into a catalog models file.
    Import {
        /// The price map (JSON).
        file: PathBuf,
        /// Write here instead of standard output, e.g. host/domain/catalog/models.json.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Import rules and alias table (default: the built-in host/domain/catalog/aliases.toml).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// The source's version, recorded in the file, e.g. "litellm 1.110.2".
        #[arg(long, default_value = "unknown")]
        source_version: String,
        /// The import date recorded (YYYY-MM-DD); default: today.
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Creates a new plugin crate from a template.
    New {
        /// Plugin name: lowercase letters, digits, dashes.
        name: String,
        /// Provider adapter or routing policy.
        #[arg(long, value_enum)]
        kind: PluginKind,
        /// An adapter's upstream wire format: the template's translation, tests and recordings
        /// follow it.
        #[arg(long, value_enum, default_value = "openai")]
        wire: WireFormat,
        /// Folder to create the crate in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Path of the switchyard-sdk crate (default: the SDK this binary was built from).
        #[arg(long)]
        sdk_path: Option<PathBuf>,
    },
    /// Loads a component as the gateway would (compile, type-check, self-test) and describes it.
    Check {
        /// The `.wasm` component.
        file: PathBuf,
    },
    /// Replays recorded upstream answers through an adapter and checks its output (the
    /// conformance kit); prints a table per fixture and fails when any check fails.
    Test {
        /// The adapter's `.wasm` component, or `builtin:<name>` for a first-party adapter.
        component: PathBuf,
        /// A folder of recorded answers (`*.json`, `*.chunks.txt`, raw SSE `*.txt`); repeatable.
        #[arg(long, required = true)]
        fixtures: Vec<PathBuf>,
        /// An endpoint option for the adapter, `key=value`; repeatable.
        #[arg(long = "option", value_parser = parse_option)]
        options: Vec<(String, String)>,
    },
    /// Rolls a running gateway's plugin back to its previous version (admin API).
    Rollback {
        /// Plugin name.
        name: String,
        /// The gateway's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        gateway: String,
        /// The admin token.
        #[arg(long, env = "SWITCHYARD_ADMIN_TOKEN", hide_env_values = true)]
        token: String,
    },
    /// Lists the plugins a configuration loads.
    List {
        /// Configuration file (TOML). Without it the built-in configuration is used.
        #[arg(long, short, env = "SWITCHYARD_CONFIG")]
        config: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            listen,
            demo,
        } => {
            let _log_flush = logging::init();
            let mut config = Config::load(config.as_deref())?;
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(async move {
                // Kept alive until the gateway stops.
                let demo_upstream = if demo {
                    Some(DemoUpstream::start().await?)
                } else {
                    None
                };
                if let Some(upstream) = &demo_upstream {
                    upstream.add_to(&mut config)?;
                }
                switchyard_api::server::serve(config).await
            })
        }
        Command::DefaultConfig => {
            print!("{DEFAULT_CONFIG}");
            Ok(())
        }
        Command::Plugin(command) => run_plugin_command(command),
        Command::Catalog(CatalogCommand::Import {
            file,
            output,
            rules,
            source_version,
            date,
        }) => {
            let (json, notes) = import_price_map(&ImportRequest {
                price_map: &file,
                rules: rules.as_deref(),
                version: &source_version,
                date: date.as_deref(),
            })?;
            for note in notes {
                eprintln!("{note}");
            }
            match output {
                Some(path) => std::fs::write(&path, json)
                    .with_context(|| format!("writing {}", path.display())),
                None => {
                    print!("{json}");
                    Ok(())
                }
            }
        }
        Command::Models {
            config,
            all,
            supported_parameters,
            output_modalities,
        } => {
            let config = Config::load(config.as_deref())?;
            let filter = ModelFilter {
                supported_parameters,
                output_modalities,
                all,
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            print!("{}", runtime.block_on(list_models(&config, &filter))?);
            Ok(())
        }
        Command::Keys(command) => print_answer(admin_cli::run_keys(*command)),
        Command::Credits(command) => print_answer(admin_cli::run_credits(command)),
        Command::Tokens(command) => print_answer(admin_cli::run_tokens(command)),
        Command::Byok(command) => print_answer(admin_cli::run_byok(command)),
    }
}

fn run_plugin_command(command: PluginCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match command {
        PluginCommand::New {
            name,
            kind,
            wire,
            dir,
            sdk_path,
        } => {
            let root = cli::new_plugin(&name, kind, wire, &dir, sdk_path.as_deref())?;
            println!(
                "created {}
build it: cd {} && cargo build --release --target wasm32-wasip2",
                root.display(),
                root.display()
            );
            Ok(())
        }
        PluginCommand::Check { file } => {
            print!("{}", runtime.block_on(cli::check_plugin(&file))?);
            Ok(())
        }
        PluginCommand::Test {
            component,
            fixtures,
            options,
        } => {
            let report = runtime.block_on(cli::test_plugin(&component, &fixtures, options))?;
            print!("{}", report.table());
            if !report.passed() {
                anyhow::bail!("{} does not pass the conformance kit", component.display());
            }
            Ok(())
        }
        PluginCommand::Rollback {
            name,
            gateway,
            token,
        } => {
            println!(
                "{}",
                runtime.block_on(cli::rollback_plugin(&gateway, &name, &token))?
            );
            Ok(())
        }
        PluginCommand::List { config } => {
            let config = Config::load(config.as_deref())?;
            println!("{}", runtime.block_on(cli::list_plugins(&config))?);
            Ok(())
        }
    }
}

/// A `key=value` endpoint option.
fn parse_option(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected key=value, got {text:?}"))
}

/// Runs an admin API call and prints its JSON answer.
fn print_answer(
    call: impl Future<Output = anyhow::Result<serde_json::Value>>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let answer = runtime.block_on(call)?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}
