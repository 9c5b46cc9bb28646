//! The SDK carries the contract's WIT inside itself (`sdk/wit`) so that the published crate
//! builds on its own. It is a copy of the repository's `wit/` folder, never edited by hand: this
//! test fails when the two differ, and with `SWITCHYARD_COPY_WIT=1` it makes the copy.
//! (Not part of the published crate: outside the repository there is nothing to compare with.)
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every file under `dir`, by path relative to `dir`, with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_owned();
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn copy(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    for (relative, bytes) in files(from) {
        let target = to.join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
}

#[test]
fn the_sdk_carries_an_exact_copy_of_the_contract() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR"));
    let contract = sdk.join("../wit");
    let copied = sdk.join("wit");
    if std::env::var_os("SWITCHYARD_COPY_WIT").is_some() {
        copy(&contract, &copied);
    }
    let expected = files(&contract);
    assert!(
        !expected.is_empty(),
        "no contract in {}",
        contract.display()
    );
    let actual = if copied.exists() {
        files(&copied)
    } else {
        BTreeMap::new()
    };
    let every_path: BTreeSet<&PathBuf> = expected.keys().chain(actual.keys()).collect();
    let differing: Vec<String> = every_path
        .into_iter()
        .filter(|path| expected.get(*path) != actual.get(*path))
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        differing.is_empty(),
        "sdk/wit is not a copy of wit/ ({} differ: {}). Never edit sdk/wit: run \
         `SWITCHYARD_COPY_WIT=1 cargo test -p switchyard-sdk --test contract_copy`",
        differing.len(),
        differing.join(", ")
    );
}
