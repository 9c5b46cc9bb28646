//! `ensure_target_in` on a toolchain without the `wasm32-wasip2` target, as on a machine whose
//! rustup installed the toolchain before `rust-toolchain.toml` asked for the target: it runs
//! `rustup target add` for that toolchain (a stand-in rustup records the call and installs the
//! target's folder as rustup does). With the target present nothing runs; a failing rustup is an
//! error naming the command; without rustup the nested build is left to say what is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use switchyard_plugin_build::{BuildError, TARGET, ensure_target_in, target_installed};

/// The folder rustup gives a toolchain, which names it.
const TOOLCHAIN: &str = "1.95.0-x86_64-unknown-linux-gnu";

/// A fresh folder for the test `name`, holding a toolchain sysroot with the host's standard
/// library only.
fn toolchain_without_target(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-ensure-target-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let sysroot = dir.join(TOOLCHAIN);
    std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu/lib")).unwrap();
    (dir, sysroot)
}

/// A stand-in rustup in `dir`: records its arguments in `dir/calls`, then adds the target's
/// library folder to `sysroot` as `rustup target add` does (`succeeds`), or fails.
fn rustup(dir: &Path, sysroot: &Path, succeeds: bool) -> Command {
    let script = dir.join("rustup.sh");
    let then = match succeeds {
        true => format!("mkdir -p '{}/lib/rustlib/{TARGET}/lib'", sysroot.display()),
        false => "exit 1".to_owned(),
    };
    let calls = dir.join("calls");
    let text = format!("echo \"$@\" >> '{}'\n{then}\n", calls.display());
    std::fs::write(&script, text).unwrap();
    let mut command = Command::new("sh");
    command.arg(script);
    command
}

fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_missing_target_is_added_to_the_toolchain_building() {
    let (dir, sysroot) = toolchain_without_target("missing");
    assert!(!target_installed(&sysroot));
    ensure_target_in(&sysroot, None, rustup(&dir, &sysroot, true)).unwrap();
    assert_eq!(
        calls(&dir),
        [format!("target add {TARGET} --toolchain {TOOLCHAIN}")]
    );
    assert!(target_installed(&sysroot));

    // Once there, rustup is not asked again.
    ensure_target_in(&sysroot, None, rustup(&dir, &sysroot, true)).unwrap();
    assert_eq!(calls(&dir).len(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_toolchain_rustup_names_is_the_one_given_the_target() {
    let (dir, sysroot) = toolchain_without_target("named");
    ensure_target_in(&sysroot, Some("1.95.0"), rustup(&dir, &sysroot, true)).unwrap();
    assert_eq!(
        calls(&dir),
        [format!("target add {TARGET} --toolchain 1.95.0")]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_failing_rustup_is_an_error_naming_the_command() {
    let (dir, sysroot) = toolchain_without_target("failing");
    let error = ensure_target_in(&sysroot, None, rustup(&dir, &sysroot, false)).unwrap_err();
    assert!(matches!(&error, BuildError::AddTarget(name) if name == TOOLCHAIN));
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "rustup target add {TARGET} --toolchain {TOOLCHAIN}"
        )),
        "{message}"
    );
    assert!(!target_installed(&sysroot));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn without_rustup_the_nested_build_is_left_to_fail() {
    let (dir, sysroot) = toolchain_without_target("no-rustup");
    let absent = Command::new(dir.join("no-such-rustup"));
    ensure_target_in(&sysroot, None, absent).unwrap();
    assert!(!target_installed(&sysroot));
    std::fs::remove_dir_all(dir).unwrap();
}
