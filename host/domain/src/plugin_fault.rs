//! A plugin that trapped, ran past its deadline, ran out of memory or broke the contract.

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
    /// A fault for output that breaks the contract.
    pub fn contract(plugin: &str, reason: impl Into<String>) -> Self {
        PluginFault {
            plugin: plugin.to_owned(),
            reason: reason.into(),
            exhaustion: false,
        }
    }
}
