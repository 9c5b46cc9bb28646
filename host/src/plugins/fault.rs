//! A plugin that trapped, ran past its deadline, ran out of memory or broke the contract.

use wasmtime::Trap;

/// A plugin failure. It costs only the request that hit it: the store is dropped.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin {plugin} failed: {reason}")]
pub struct PluginFault {
    /// The plugin's name.
    pub plugin: String,
    /// What went wrong.
    pub reason: String,
    /// The call ran out of time or memory: a large enough input explains that, unlike a trap.
    pub exhaustion: bool,
}

impl PluginFault {
    /// A fault from a wasmtime error raised by a call into `plugin`.
    pub fn from_wasm(plugin: &str, error: wasmtime::Error, timeout_ms: u128) -> Self {
        let mut exhaustion = true;
        let reason = match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => format!("exceeded its {timeout_ms} ms call deadline"),
            Some(trap) => {
                exhaustion = false;
                match trap {
                    Trap::UnreachableCodeReached => "trapped (panicked or aborted)".to_owned(),
                    trap => format!("trapped: {trap}"),
                }
            }
            None => {
                let text = format!("{error:#}");
                if text.contains("forcing trap when growing memory") {
                    "exceeded its memory limit".to_owned()
                } else {
                    exhaustion = false;
                    text
                }
            }
        };
        PluginFault {
            plugin: plugin.to_owned(),
            reason,
            exhaustion,
        }
    }

    /// A fault for output that breaks the contract.
    pub fn contract(plugin: &str, reason: impl Into<String>) -> Self {
        PluginFault {
            plugin: plugin.to_owned(),
            reason: reason.into(),
            exhaustion: false,
        }
    }
}
