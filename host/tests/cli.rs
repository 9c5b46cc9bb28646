//! End to end: the `switchyard plugin` subcommands on real components, including a plugin
//! scaffolded by `plugin new`, built for wasm32-wasip2 and checked.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
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
    assert!(stdout(&output).contains("passes the conversation through: false"));
    let output = switchyard(&["plugin", "check", switchyard_tests::hostile::FORGER]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout(&output).contains("passes the conversation through: true"),
        "{}",
        stdout(&output)
    );

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

/// The position of the contract stamp's payload in a component built with the SDK.
fn stamp_position(component: &[u8]) -> usize {
    let name = b"switchyard:contract";
    component
        .windows(name.len())
        .position(|window| window == name)
        .map(|at| at + name.len())
        .expect("the SDK stamps the contract version into every component")
}

#[test]
fn check_refuses_a_plugin_stamped_for_a_newer_contract_naming_both_versions() {
    let mut component = std::fs::read(switchyard_tests::hostile::PANIC).unwrap();
    let version = switchyard_sdk::contract::VERSION;
    let at = stamp_position(&component);
    assert_eq!(
        &component[at..at + version.len()],
        version.as_bytes(),
        "stamped with the SDK's contract"
    );

    // The same component, stamped for a contract whose major number is 9.
    let newer = format!("9{}", &version[1..]);
    component[at..at + version.len()].copy_from_slice(newer.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("newer.wasm");
    std::fs::write(&file, &component).unwrap();
    let output = switchyard(&["plugin", "check", file.to_str().unwrap()]);
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let newest = switchyard_plugin_runtime::stamp::SUPPORTED_CONTRACTS
        .last()
        .unwrap();
    assert!(
        stderr.contains(&format!("switchyard:plugin@{newer}"))
            && stderr.contains(&format!("newest contract {newest}")),
        "{stderr}"
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

/// Packages the SDK as it would be published (`cargo package`) and unpacks the crate; returns
/// its folder. It is outside the workspace's sources: it builds with what it carries or not at all.
fn packaged_sdk() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-package");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let package = Command::new(env!("CARGO"))
        .args([
            "package",
            "-p",
            "switchyard-sdk",
            "--no-verify",
            "--allow-dirty",
        ])
        .arg("--target-dir")
        .arg(&out)
        .current_dir(&workspace)
        .output()
        .unwrap();
    assert!(
        package.status.success(),
        "{}",
        String::from_utf8_lossy(&package.stderr)
    );
    let version = env!("CARGO_PKG_VERSION");
    let unpacked = out.join("unpacked");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked).unwrap();
    let crate_file = out.join(format!("package/switchyard-sdk-{version}.crate"));
    let untar = Command::new("tar")
        .arg("xzf")
        .arg(&crate_file)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(untar.success());
    let sdk = unpacked.join(format!("switchyard-sdk-{version}"));
    assert!(
        sdk.join("wit/provider.wit").exists(),
        "the packaged SDK carries the contract"
    );
    sdk
}

#[test]
fn new_scaffolds_plugins_that_build_and_pass_the_check() {
    let dir = tempfile::tempdir().unwrap();
    // Share one target folder between the two builds (and test runs) to compile dependencies once.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffolded-plugins");
    // The adapter depends on the SDK as published (`cargo package`), the policy on the SDK in
    // this repository (the default of `plugin new`).
    let packaged = packaged_sdk();
    // The custom wire format's adapter cannot stream, and its recordings are exchanges (status,
    // headers, body) with expectations: the kit passes all four, whole and streamed.
    for (name, kind, wire, sdk_path, expected, passing) in [
        (
            "my-adapter",
            "provider",
            "openai",
            Some(packaged.as_path()),
            "ok: provider my-adapter",
            "3 fixtures, 3 passed, 0 failed",
        ),
        (
            "my-custom",
            "provider",
            "custom",
            Some(packaged.as_path()),
            "ok: provider my-custom",
            "4 fixtures, 4 passed, 0 failed",
        ),
        (
            "my-policy",
            "router",
            "openai",
            None,
            "ok: router my-policy",
            "",
        ),
        (
            "my-transform",
            "transform",
            "openai",
            None,
            "ok: transform my-transform",
            "",
        ),
    ] {
        let mut args = vec![
            "plugin",
            "new",
            name,
            "--kind",
            kind,
            "--wire",
            wire,
            "--dir",
            dir.path().to_str().unwrap(),
        ];
        if let Some(sdk_path) = sdk_path {
            args.extend(["--sdk-path", sdk_path.to_str().unwrap()]);
        }
        let output = switchyard(&args);
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
        if kind == "provider" {
            // The conformance kit on the recordings the template ships.
            let fixtures = crate_dir.join("tests/fixtures");
            let output = switchyard(&[
                "plugin",
                "test",
                component.to_str().unwrap(),
                "--fixtures",
                fixtures.to_str().unwrap(),
            ]);
            assert!(output.status.success(), "{output:?}");
            assert!(stdout(&output).contains(passing), "{}", stdout(&output));
        }
    }

    let output = switchyard(&["plugin", "new", "Bad Name", "--kind", "router"]);
    assert!(!output.status.success());
}
