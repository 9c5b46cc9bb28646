//! Builds the first-party plugins for `wasm32-wasip2` and embeds them in the binary, so the
//! gateway runs with zero files around it.

use switchyard_plugin_build::{build_plugins, embed_source};

fn main() {
    // Provider adapters, routing policies and transforms are built separately: one world per
    // build.
    let groups: [&[&str]; 3] = [
        &[
            "switchyard-plugin-openai",
            "switchyard-plugin-anthropic",
            "switchyard-plugin-gemini",
            "switchyard-plugin-mistral",
            "switchyard-plugin-cohere",
            "switchyard-plugin-azure-openai",
            "switchyard-plugin-bedrock",
            "switchyard-plugin-openai-responses",
            "switchyard-plugin-vertex",
        ],
        &[
            "switchyard-plugin-price",
            "switchyard-plugin-cheapest",
            "switchyard-plugin-latency",
            "switchyard-plugin-throughput",
            "switchyard-plugin-least-busy",
            "switchyard-plugin-weighted",
        ],
        &[
            "switchyard-plugin-deny-list",
            "switchyard-plugin-pii-redact",
            "switchyard-plugin-response-healing",
            "switchyard-plugin-middle-out",
            "switchyard-plugin-file-parser",
        ],
    ];
    let mut artifacts = Vec::new();
    for group in groups {
        match build_plugins(group) {
            Ok(built) => artifacts.extend(built),
            Err(error) => {
                println!("cargo::error={error}");
                return;
            }
        }
    }
    let out_dir = std::env::var("OUT_DIR").unwrap_or_default();
    let source = embed_source("BUILTIN_PLUGINS", &artifacts);
    if let Err(error) = std::fs::write(format!("{out_dir}/builtin_plugins.rs"), source) {
        println!("cargo::error=cannot write builtin_plugins.rs: {error}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../wit");
}
