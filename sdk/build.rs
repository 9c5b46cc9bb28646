//! Reads the contract version from the WIT package this SDK binds (`wit/`, a copy of the
//! repository's contract) and hands it to the crate as `SWITCHYARD_CONTRACT_VERSION`, so the
//! version stamped into every component has one source: the WIT files themselves.

use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=wit");
    match contract_version(Path::new("wit")) {
        Ok(version) => println!("cargo::rustc-env=SWITCHYARD_CONTRACT_VERSION={version}"),
        Err(reason) => println!("cargo::error={reason}"),
    }
}

/// The version `X` of the `package switchyard:plugin@X;` declared by the top-level `.wit` files.
fn contract_version(dir: &Path) -> Result<String, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "wit") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let declared = text.lines().find_map(|line| {
            line.trim()
                .strip_prefix("package switchyard:plugin@")
                .and_then(|rest| rest.strip_suffix(';'))
        });
        if let Some(version) = declared {
            return Ok(version.trim().to_owned());
        }
    }
    Err(format!(
        "no `package switchyard:plugin@<version>;` in {}",
        dir.display()
    ))
}
