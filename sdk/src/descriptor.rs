//! A builder for an adapter's [`Descriptor`]: what `describe()` returns.
//!
//! ```ignore
//! fn describe() -> Descriptor {
//!     Descriptor::builder("acme", env!("CARGO_PKG_VERSION"))
//!         .allowed_hosts(&["api.acme.example"])
//!         .streaming()
//!         .tools()
//!         .vision()
//!         .supported_parameters(&["temperature", "max_tokens"])
//!         .build()
//! }
//! ```

use crate::provider::{Capabilities, Descriptor};

impl Descriptor {
    /// A descriptor for adapter `name` at `version`: no allowed hosts besides the operator's
    /// `base_url`, and no capability (streaming, tools, vision, documents, JSON schema,
    /// reasoning) nor supported parameter until declared.
    pub fn builder(name: &str, version: &str) -> DescriptorBuilder {
        DescriptorBuilder(Descriptor {
            name: name.to_owned(),
            version: version.to_owned(),
            allowed_hosts: Vec::new(),
            capabilities: Capabilities::default(),
        })
    }
}

/// Builds a [`Descriptor`]; start with [`Descriptor::builder`].
#[derive(Debug, Clone)]
pub struct DescriptorBuilder(Descriptor);

impl DescriptorBuilder {
    /// Hosts the adapter may send requests to: exact names, `*.example.com` for subdomains.
    pub fn allowed_hosts(mut self, hosts: &[&str]) -> Self {
        self.0
            .allowed_hosts
            .extend(hosts.iter().map(|host| (*host).to_owned()));
        self
    }

    /// Declares that the adapter streams.
    pub fn streaming(mut self) -> Self {
        self.0.capabilities.streaming = true;
        self
    }

    /// Declares that the adapter supports tool calls.
    pub fn tools(mut self) -> Self {
        self.0.capabilities.tools = true;
        self
    }

    /// Declares that the adapter passes image parts on.
    pub fn vision(mut self) -> Self {
        self.0.capabilities.vision = true;
        self
    }

    /// Declares that the adapter passes document (`file`) parts on.
    pub fn documents(mut self) -> Self {
        self.0.capabilities.documents = true;
        self
    }

    /// Declares that the adapter honours a `json_schema` response format.
    pub fn json_schema(mut self) -> Self {
        self.0.capabilities.json_schema = true;
        self
    }

    /// Declares that the adapter passes reasoning settings on.
    pub fn reasoning(mut self) -> Self {
        self.0.capabilities.reasoning = true;
        self
    }

    /// Declares every chat capability (streaming, tools, vision, documents, JSON schema,
    /// reasoning): for an adapter whose upstream speaks the canonical format and is passed the
    /// request as it is.
    pub fn everything(self) -> Self {
        self.streaming()
            .tools()
            .vision()
            .documents()
            .json_schema()
            .reasoning()
    }

    /// The request parameters the adapter honours (`temperature`, `tools`, `seed`...), matched by
    /// the gateway against requests that set `provider.require_parameters`.
    pub fn supported_parameters(mut self, parameters: &[&str]) -> Self {
        self.0
            .capabilities
            .supported_parameters
            .extend(parameters.iter().map(|parameter| (*parameter).to_owned()));
        self
    }

    /// The descriptor.
    pub fn build(self) -> Descriptor {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_what_was_declared() {
        let descriptor = Descriptor::builder("acme", "1.2.3")
            .allowed_hosts(&["api.acme.example", "*.acme.example"])
            .streaming()
            .supported_parameters(&["temperature"])
            .build();
        assert_eq!(descriptor.name, "acme");
        assert_eq!(descriptor.version, "1.2.3");
        assert_eq!(
            descriptor.allowed_hosts,
            ["api.acme.example", "*.acme.example"]
        );
        assert!(descriptor.capabilities.streaming && !descriptor.capabilities.tools);
        assert_eq!(
            descriptor.capabilities.supported_parameters,
            ["temperature"]
        );
    }
}
