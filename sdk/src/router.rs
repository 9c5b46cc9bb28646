//! Routing policies: the [`Router`] trait and the [`export_router!`](crate::export_router) macro.
//!
//! ```ignore
//! use switchyard_sdk::router::*;
//!
//! struct Cheapest;
//!
//! impl Router for Cheapest {
//!     fn describe() -> Descriptor { Descriptor { name: "cheapest".into(), version: "0.1.0".into() } }
//!     fn order(request: RequestSummary, candidates: Vec<Candidate>) -> Result<Vec<u32>, String> {
//!         /* ... */
//!     }
//! }
//!
//! switchyard_sdk::export_router!(Cheapest);
//! ```

use std::marker::PhantomData;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "switchyard:plugin/router@0.3.0",
        pub_export_macro: true,
        export_macro_name: "__export_router_world",
        default_bindings_module: "::switchyard_sdk::router::bindings",
        runtime_path: "::switchyard_sdk::__private::wit_bindgen::rt",
    });
}

use bindings::exports::switchyard::plugin::policy as wit;

pub use wit::{Candidate, Descriptor, EndpointStats, RequestSummary};

/// A routing policy. Implement it on a unit struct and export it with
/// [`export_router!`](crate::export_router).
pub trait Router: 'static {
    /// Name and version.
    fn describe() -> Descriptor;

    /// Candidate indexes, best first. Indexes left out are not tried. Called for requests with
    /// at least two candidates, and once with none as a self-test when the plugin loads.
    fn order(request: RequestSummary, candidates: Vec<Candidate>) -> Result<Vec<u32>, String>;
}

/// Glue between a [`Router`] and the generated bindings. Used by the export macro.
#[doc(hidden)]
pub struct Export<R>(PhantomData<R>);

impl<R: Router> wit::Guest for Export<R> {
    fn describe() -> Descriptor {
        R::describe()
    }

    fn order(request: RequestSummary, candidates: Vec<Candidate>) -> Result<Vec<u32>, String> {
        R::order(request, candidates)
    }
}

/// Exports a [`Router`] implementation as the plugin's `policy` interface.
#[macro_export]
macro_rules! export_router {
    ($router:ty) => {
        // Only a wasm32 build exports the component's functions: their names (`pkg:ns/iface#f`)
        // are not valid symbols for native linkers, and native builds exist for unit tests.
        #[cfg(target_arch = "wasm32")]
        type __SwitchyardRouterExport = $crate::router::Export<$router>;
        #[cfg(target_arch = "wasm32")]
        $crate::router::bindings::__export_router_world!(
            __SwitchyardRouterExport with_types_in $crate::router::bindings
        );
    };
}

/// A small deterministic pseudo-random generator (SplitMix64) for policies that draw weighted
/// choices from the host's seed: the same seed always gives the same sequence.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    /// The next value, uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}
