//! End to end: the `switchyard plugin` subcommands on real components, including a plugin
//! scaffolded by `plugin new`, built for wasm32-wasip2 and checked.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

fn switchyard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_describes_a_good_component_and_refuses_a_bad_one() {
    let output = switchyard(&["plugin", "check", switchyard_tests::hostile::PANIC]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout(&output).contains("ok: provider test-panic 0.1.0"),
        "{}",
        stdout(&output)
    );
    assert!(stdout(&output).contains("allowed hosts: api.panic.example"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wasm");
    std::fs::write(&bad, b"\0asm garbage").unwrap();
    let output = switchyard(&["plugin", "check", bad.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot be loaded"),
        "{output:?}"
    );
}

#[test]
fn list_shows_the_built_in_plugins() {
    let output = switchyard(&["plugin", "list"]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    for (name, kind) in [
        ("openai", "provider"),
        ("anthropic", "provider"),
        ("price", "router"),
    ] {
        assert!(
            text.lines().any(|line| line.starts_with(name)
                && line.contains(kind)
                && line.contains("built-in")),
            "{name} missing:\n{text}"
        );
    }
}

#[test]
fn new_scaffolds_plugins_that_build_and_pass_the_check() {
    let dir = tempfile::tempdir().unwrap();
    // Share one target folder between the two builds (and test runs) to compile dependencies once.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffolded-plugins");
    for (name, kind, expected) in [
        ("my-adapter", "provider", "ok: provider my-adapter"),
        ("my-policy", "router", "ok: router my-policy"),
    ] {
        let output = switchyard(&[
            "plugin",
            "new",
            name,
            "--kind",
            kind,
            "--dir",
            dir.path().to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{output:?}");
        let crate_dir = dir.path().join(name);
        assert!(crate_dir.join("Cargo.toml").exists() && crate_dir.join("src/lib.rs").exists());

        let build = Command::new(env!("CARGO"))
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .current_dir(&crate_dir)
            .output()
            .unwrap();
        assert!(
            build.status.success(),
            "{}",
            String::from_utf8_lossy(&build.stderr)
        );
        let component = target.join(format!(
            "wasm32-wasip2/release/{}.wasm",
            name.replace('-', "_")
        ));
        let output = switchyard(&["plugin", "check", component.to_str().unwrap()]);
        assert!(output.status.success(), "{output:?}");
        assert!(stdout(&output).contains(expected), "{}", stdout(&output));
    }

    let output = switchyard(&["plugin", "new", "Bad Name", "--kind", "router"]);
    assert!(!output.status.success());
}
