//! Logging to the gateway's log from inside a plugin (contract 0.2.0 and later).
//!
//! Lines are tagged with the plugin's name by the host, truncated to 1 KiB, and rate-limited per
//! request. In native builds (unit tests) they go to stderr.

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Detail for debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected the plugin handled.
    Warn,
    /// Something failed.
    Error,
}

/// Writes `message` to the gateway's log at `level`.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        #[cfg(feature = "provider")]
        use crate::provider::bindings::switchyard::plugin::host as wit;
        #[cfg(all(feature = "router", not(feature = "provider")))]
        use crate::router::bindings::switchyard::plugin::host as wit;
        #[cfg(all(
            feature = "transform",
            not(feature = "provider"),
            not(feature = "router")
        ))]
        use crate::transform::bindings::switchyard::plugin::host as wit;
        let level = match level {
            Level::Debug => wit::LogLevel::Debug,
            Level::Info => wit::LogLevel::Info,
            Level::Warn => wit::LogLevel::Warn,
            Level::Error => wit::LogLevel::Error,
        };
        wit::log(level, message);
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Logs at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at error level.
pub fn error(message: &str) {
    log(Level::Error, message);
}
