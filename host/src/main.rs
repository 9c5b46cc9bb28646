//! The `switchyard` command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchyard::config::{Config, DEFAULT_CONFIG};

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
    },
    /// Prints the built-in configuration, a starting point for your own.
    DefaultConfig,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, listen } => {
            init_tracing();
            let mut config = Config::load(config.as_deref())?;
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(switchyard::server::serve(config))
        }
        Command::DefaultConfig => {
            print!("{DEFAULT_CONFIG}");
            Ok(())
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
