//! A loaded plugin version of any kind (provider adapter, routing policy, transform), and what
//! the host asks of every kind alike: name, versions, state, serving.

use std::sync::Arc;

use super::provider::ProviderPlugin;
use super::router::RouterPlugin;
use super::transform::TransformPlugin;
use super::version::VersionState;

/// A loaded plugin version of any kind.
#[derive(Debug, Clone)]
pub enum Plugin {
    /// A provider adapter.
    Provider(Arc<ProviderPlugin>),
    /// A routing policy.
    Router(Arc<RouterPlugin>),
    /// A transform.
    Transform(Arc<TransformPlugin>),
}

impl Plugin {
    /// The plugin's name.
    pub fn name(&self) -> &str {
        match self {
            Plugin::Provider(plugin) => plugin.name(),
            Plugin::Router(plugin) => plugin.name(),
            Plugin::Transform(plugin) => plugin.name(),
        }
    }

    /// The plugin's declared version.
    pub fn version(&self) -> &str {
        match self {
            Plugin::Provider(plugin) => &plugin.descriptor().version,
            Plugin::Router(plugin) => plugin.version(),
            Plugin::Transform(plugin) => plugin.version(),
        }
    }

    /// The contract version it was built against, e.g. `0.3.0`.
    pub fn contract(&self) -> &'static str {
        match self {
            Plugin::Provider(plugin) => plugin.contract(),
            Plugin::Router(plugin) => plugin.contract(),
            Plugin::Transform(plugin) => plugin.contract(),
        }
    }

    /// `provider`, `router` or `transform`.
    pub fn kind(&self) -> &'static str {
        match self {
            Plugin::Provider(_) => "provider",
            Plugin::Router(_) => "router",
            Plugin::Transform(_) => "transform",
        }
    }

    /// The host's state of this version.
    pub fn state(&self) -> &VersionState {
        match self {
            Plugin::Provider(plugin) => plugin.state(),
            Plugin::Router(plugin) => plugin.state(),
            Plugin::Transform(plugin) => plugin.state(),
        }
    }

    pub(super) fn is(&self, state: &VersionState) -> bool {
        std::ptr::eq(self.state(), state)
    }

    /// Opens or closes (and empties) the version's pool of warm instances.
    pub(super) fn set_serving(&self, serving: bool) {
        match self {
            Plugin::Provider(plugin) => plugin.set_serving(serving),
            Plugin::Router(plugin) => plugin.set_serving(serving),
            Plugin::Transform(plugin) => plugin.set_serving(serving),
        }
    }
}
