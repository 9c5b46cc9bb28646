//! The record of one call into a plugin version: its latency in the metrics
//! (`switchyard.plugin.call.duration`) and, with traces on, a span under the request's.

use std::time::Instant;

use switchyard_domain::plugin_fault::PluginFault;
use switchyard_telemetry::metrics::labels::PluginLabels;

/// A call into a plugin, timed from its start.
#[derive(Debug)]
pub(crate) struct TimedCall {
    function: &'static str,
    started: Instant,
    traced: bool,
}

impl TimedCall {
    /// Starts timing a call of the plugin function `function`.
    pub(crate) fn start(function: &'static str) -> TimedCall {
        TimedCall {
            function,
            started: Instant::now(),
            traced: true,
        }
    }

    /// The same, without a span: for calls made once per stream event, whose spans would
    /// outnumber everything else in a trace.
    pub(crate) fn start_untraced(function: &'static str) -> TimedCall {
        TimedCall {
            traced: false,
            ..TimedCall::start(function)
        }
    }

    /// Records the ended call into the plugin version labelled `plugin`, which failed with
    /// `fault` if any.
    pub(crate) fn finish(self, plugin: &PluginLabels, fault: Option<&PluginFault>) {
        let elapsed = self.started.elapsed();
        let function = self.function;
        switchyard_telemetry::metrics::requests::plugin_call(
            plugin,
            function,
            elapsed,
            fault.is_none(),
        );
        if self.traced {
            let reason = fault.map(|fault| fault.reason.as_str());
            let (name, version) = (plugin.name(), plugin.version());
            switchyard_telemetry::traces::spans::plugin_call(
                name, version, function, elapsed, reason,
            );
        }
    }
}
