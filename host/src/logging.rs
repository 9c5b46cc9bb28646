//! The gateway's log: `RUST_LOG` filtering (default `info`), written to stderr by a background
//! thread so that a request never waits on a write, with colours only when stderr is a terminal.

use std::io::IsTerminal;

use tracing_appender::non_blocking::WorkerGuard;

/// Installs the global subscriber. Keep the guard alive until exit: dropping it flushes the lines
/// still queued. When the queue is full (a burst of 128k lines the writer thread has not caught
/// up with), new lines are dropped rather than making requests wait.
pub fn init() -> WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer)
        .init();
    guard
}
