//! Builds the test plugins (hostile: panic, spin, hog, escape, thief, greedy, stash; a broken
//! `openai` release; `ledger`, an adapter of a custom API that cannot stream; `forger`, which passes the
//! conversation through but forges it; an adapter built
//! against each frozen contract, 0.1.0 to 0.4.0; `wild`, a hostile transform) for
//! `wasm32-wasip2` and exposes their paths as constants in `switchyard_tests::hostile`.

use switchyard_plugin_build::{build_plugins, path_source};

fn main() {
    let packages = [
        "switchyard-test-plugin-panic",
        "switchyard-test-plugin-spin",
        "switchyard-test-plugin-hog",
        "switchyard-test-plugin-escape",
        "switchyard-test-plugin-broken-openai",
        "switchyard-test-plugin-legacy-v0-1-0",
        "switchyard-test-plugin-legacy-v0-2-0",
        "switchyard-test-plugin-thief",
        "switchyard-test-plugin-greedy",
        "switchyard-test-plugin-legacy-v0-3-0",
        "switchyard-test-plugin-legacy-v0-4-0",
        "switchyard-test-plugin-ledger",
        "switchyard-test-plugin-stash",
        "switchyard-test-plugin-refusing",
        "switchyard-test-plugin-zero-usage",
        "switchyard-test-plugin-forger",
    ];
    // One world per build: the transform is built on its own.
    let mut artifacts = Vec::new();
    for group in [&packages[..], &["switchyard-test-plugin-wild-transform"]] {
        match build_plugins(group) {
            Ok(built) => artifacts.extend(built),
            Err(error) => {
                println!("cargo::error={error}");
                return;
            }
        }
    }
    let out_dir = std::env::var("OUT_DIR").unwrap_or_default();
    let source = path_source(&artifacts, "switchyard-test-plugin-");
    if let Err(error) = std::fs::write(format!("{out_dir}/hostile_plugins.rs"), source) {
        println!("cargo::error=cannot write hostile_plugins.rs: {error}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
