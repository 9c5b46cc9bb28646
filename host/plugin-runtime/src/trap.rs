//! What a failed call into a plugin was: a wasmtime error (trap, deadline, memory limit) read as
//! a [`PluginFault`].

use wasmtime::Trap;

use switchyard_domain::plugin_fault::PluginFault;

/// A fault from a wasmtime error raised by a call into `plugin`, whose deadline was
/// `timeout_ms`.
pub(crate) fn fault_from_wasm(
    plugin: &str,
    error: wasmtime::Error,
    timeout_ms: u128,
) -> PluginFault {
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
