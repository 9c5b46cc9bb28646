//! The contract version this SDK binds, stamped into every component built with it.
//!
//! [`export_provider!`](crate::export_provider) and [`export_router!`](crate::export_router)
//! place [`VERSION`] in a custom section named [`SECTION`] of the plugin's module. The gateway
//! reads it before compiling a component and refuses one stamped for a contract it does not
//! know, naming both versions, instead of failing later with a type-check error.

/// The version of the WIT package `switchyard:plugin` this SDK was built for, read from the
/// package declaration of its `wit/` folder at build time.
pub const VERSION: &str = env!("SWITCHYARD_CONTRACT_VERSION");

/// The name of the custom section holding the stamp.
pub const SECTION: &str = "switchyard:contract";

/// The length of [`VERSION`], the size of the stamp.
#[doc(hidden)]
pub const STAMP_LEN: usize = VERSION.len();

/// [`VERSION`] as the bytes of the custom section. Used by the export macros.
#[doc(hidden)]
pub const STAMP: [u8; STAMP_LEN] = stamp();

const fn stamp() -> [u8; STAMP_LEN] {
    let mut bytes = [0u8; STAMP_LEN];
    let version = VERSION.as_bytes();
    let mut i = 0;
    while i < STAMP_LEN {
        bytes[i] = version[i];
        i += 1;
    }
    bytes
}

/// Emits the contract stamp into the component being built (wasm32 only). Used by the export
/// macros, so that the section is part of the plugin crate itself and always linked.
#[doc(hidden)]
#[macro_export]
macro_rules! __stamp_contract {
    () => {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "switchyard:contract")]
        #[used]
        static __SWITCHYARD_CONTRACT: [u8; $crate::contract::STAMP_LEN] = $crate::contract::STAMP;
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_stamp_is_the_version_of_the_bound_wit_package() {
        let types = include_str!("../wit/types.wit");
        let declared = format!("package switchyard:plugin@{};", super::VERSION);
        assert!(
            types.lines().any(|line| line.trim() == declared),
            "{declared}"
        );
        assert_eq!(&super::STAMP[..], super::VERSION.as_bytes());
    }
}
