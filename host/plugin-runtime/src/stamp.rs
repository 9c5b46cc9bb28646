//! The contract stamp: the SDK writes the contract version a plugin was built for into a custom
//! section (`switchyard:contract`) of every component. The host reads it before compiling, so a
//! plugin built for a contract this gateway does not know is refused with a message naming both
//! versions rather than failing with a type-check error against the newest world. Components
//! without a stamp (other toolchains, older SDKs) are type-checked as before.

/// The contract versions this gateway links, oldest first: one boundary module each.
pub const SUPPORTED_CONTRACTS: &[&str] = &["0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0"];

/// The name of the custom section holding the stamp (`switchyard_sdk::contract::SECTION`).
pub const SECTION: &str = "switchyard:contract";

/// Why a component's stamp is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    /// Stamped for a contract newer than any this gateway links.
    #[error(
        "the plugin was built for contract switchyard:plugin@{plugin}, newer than this gateway's \
         newest contract {newest}: upgrade the gateway, or rebuild the plugin with an SDK for \
         contract {newest}"
    )]
    Newer {
        /// The plugin's contract.
        plugin: String,
        /// The newest contract this gateway links.
        newest: &'static str,
    },
    /// Stamped for a version that is not one this gateway links.
    #[error(
        "the plugin was built for contract switchyard:plugin@{plugin}, unknown to this gateway \
         (it supports {supported}, the newest being {newest})"
    )]
    Unknown {
        /// The plugin's contract.
        plugin: String,
        /// Every contract this gateway links, comma-separated.
        supported: String,
        /// The newest contract this gateway links.
        newest: &'static str,
    },
}

/// Checks the contract stamps of `component`: every stamp must name a supported contract.
pub fn check(component: &[u8]) -> Result<(), StampError> {
    stamps(component)
        .into_iter()
        .try_for_each(|stamp| check_version(&String::from_utf8_lossy(stamp)))
}

/// Checks one stamped version against [`SUPPORTED_CONTRACTS`].
fn check_version(plugin: &str) -> Result<(), StampError> {
    if SUPPORTED_CONTRACTS.contains(&plugin) {
        return Ok(());
    }
    let newest = SUPPORTED_CONTRACTS.last().copied().unwrap_or("none");
    if numbers(plugin) > numbers(newest) {
        return Err(StampError::Newer {
            plugin: plugin.to_owned(),
            newest,
        });
    }
    Err(StampError::Unknown {
        plugin: plugin.to_owned(),
        supported: SUPPORTED_CONTRACTS.join(", "),
        newest,
    })
}

/// A version's numbers, for ordering (`0.10.0` after `0.9.0`); non-numbers read as zero.
fn numbers(version: &str) -> Vec<u64> {
    version
        .split(['.', '-', '+'])
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

/// The payloads of every `switchyard:contract` custom section of a component or module, nested
/// core modules and components included. Malformed input yields what was read before the damage
/// (the compiler reports the damage itself).
pub fn stamps(binary: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    collect(binary, &mut found);
    found
}

/// Section ids of a component that hold a nested binary: a core module, a component.
const NESTED_SECTIONS: [u8; 2] = [1, 4];

fn collect<'a>(binary: &'a [u8], found: &mut Vec<&'a [u8]>) {
    // Preamble: `\0asm`, then a 2-byte version and a 2-byte layer (0 module, 1 component).
    let Some(rest) = binary.strip_prefix(b"\0asm") else {
        return;
    };
    let Some((header, mut rest)) = rest.split_at_checked(4) else {
        return;
    };
    let is_component = header[2] == 1;
    while let Some((&id, after_id)) = rest.split_first() {
        let Some((size, after_size)) = leb128(after_id) else {
            return;
        };
        let Some((contents, after_section)) = after_size.split_at_checked(size) else {
            return;
        };
        rest = after_section;
        if id == 0 {
            if let Some((name, payload)) =
                leb128(contents).and_then(|(length, named)| named.split_at_checked(length))
                && name == SECTION.as_bytes()
            {
                found.push(payload);
            }
        } else if is_component && NESTED_SECTIONS.contains(&id) {
            collect(contents, found);
        }
    }
}

/// An unsigned LEB128 number (at most 32 bits, as section sizes are) and the bytes after it.
fn leb128(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut value: u64 = 0;
    for (position, byte) in bytes.iter().enumerate().take(5) {
        value |= u64::from(byte & 0x7f) << (7 * position);
        if byte & 0x80 == 0 {
            let value = usize::try_from(value).ok()?;
            return Some((value, &bytes[position + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A custom section named `name` holding `payload` (sizes below 128 bytes).
    fn custom(name: &str, payload: &[u8]) -> Vec<u8> {
        let mut contents = vec![name.len() as u8];
        contents.extend(name.as_bytes());
        contents.extend(payload);
        let mut section = vec![0, contents.len() as u8];
        section.extend(contents);
        section
    }

    #[test]
    fn finds_stamps_in_nested_modules_and_ignores_other_sections() {
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend(custom("producers", b"x"));
        module.extend(custom(SECTION, b"0.3.0"));
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        component.extend([1, module.len() as u8]);
        component.extend(&module);
        component.extend(custom(SECTION, b"9.0.0"));
        assert_eq!(stamps(&component), vec![&b"0.3.0"[..], &b"9.0.0"[..]]);
        assert!(stamps(b"garbage").is_empty());
        assert!(
            stamps(&component[..component.len() - 3]).len() == 1,
            "truncated"
        );
    }

    #[test]
    fn supported_versions_pass_and_others_are_refused_naming_both() {
        assert_eq!(check_version("0.1.0"), Ok(()));
        let newest = SUPPORTED_CONTRACTS.last().copied().unwrap_or_default();
        let newer = check_version("0.10.0").unwrap_err().to_string();
        assert!(
            newer.contains("0.10.0") && newer.contains(newest),
            "{newer}"
        );
        assert!(matches!(
            check_version("0.10.0"),
            Err(StampError::Newer { .. })
        ));
        assert!(matches!(
            check_version("0.2.5"),
            Err(StampError::Unknown { .. })
        ));
    }

    #[test]
    fn the_newest_supported_contract_is_the_one_in_wit() {
        let types = include_str!("../../../wit/types.wit");
        let newest = SUPPORTED_CONTRACTS.last().copied().unwrap_or_default();
        let declared = format!("package switchyard:plugin@{newest};");
        assert!(
            types.lines().any(|line| line.trim() == declared),
            "{declared}"
        );
    }
}
