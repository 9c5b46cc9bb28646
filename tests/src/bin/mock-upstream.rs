//! `mock-upstream`: runs the Switchyard mock provider upstream as a standalone server, for manual
//! use and benchmarks. Prints the bound URL as the first line of stdout, then serves until
//! interrupted.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;
use switchyard_tests::{MockUpstream, fixtures_dir};

/// Mock OpenAI / Anthropic upstream replaying recorded provider traffic, with fault injection.
#[derive(Debug, Parser)]
#[command(name = "mock-upstream")]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Fixtures folder (default: the recordings shipped with switchyard-tests).
    #[arg(long)]
    fixtures: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = args.fixtures.unwrap_or_else(fixtures_dir);
    let mock = MockUpstream::start_on(SocketAddr::new(args.host, args.port), dir).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", mock.url())?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c().await?;
    drop(mock);
    Ok(())
}
