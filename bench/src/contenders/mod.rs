//! The contenders: the mock upstream (the direct path), the bare proxy, nginx, the gateway and
//! the two peers. Each is a child process reachable at a [`Target`].

pub mod gateway;
pub mod litellm;
pub mod local;
pub mod nginx;
pub mod portkey;

use crate::load::Target;
use crate::process::Process;

/// The models every contender serves; the mock reads its behaviour from them (see
/// [`crate::mock`]).
pub mod models {
    /// Zero latency; a non-streamed answer, or 20 stream chunks at once.
    pub const PLAIN: &str = "bench/model";
    /// 100 stream chunks at once: per-chunk processing cost.
    pub const BURST: &str = "bench/c100";
    /// 20 stream chunks 50 ms apart: a second-long stream, for the concurrency test.
    pub const SLOW: &str = "bench/c20-i50000";
    /// Every model above.
    pub const ALL: [&str; 3] = [PLAIN, BURST, SLOW];
}

/// A running contender.
pub struct Contender {
    /// Where to send requests.
    pub target: Target,
    /// The process serving them.
    pub process: Process,
}

/// A target on `addr` at the OpenAI path.
pub fn chat_target(name: &str, addr: std::net::SocketAddr) -> Target {
    Target {
        name: name.to_owned(),
        addr,
        path: "/v1/chat/completions".to_owned(),
        headers: Vec::new(),
        keys: None,
        refresh: None,
    }
}
