//! The docs cannot go stale on the contract version: the repository's README, the SDK's README,
//! its templates and its doc comments may name the contract package (`switchyard:plugin@x.y.z`,
//! a world included) only at the current version, except in a section about versions (a
//! Markdown heading naming versions or frozen contracts), where earlier ones belong.
//! (Not part of the published crate: it reads the repository around the SDK.)
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};

use switchyard_sdk::contract::VERSION;

/// Every `switchyard:plugin[/world]@<version>` of `text` outside the version sections, as
/// (line number, version). `markdown`: headings delimit sections.
fn stale_mentions(text: &str, markdown: bool, current: &str) -> Vec<(usize, String)> {
    let mut stale = Vec::new();
    // The level of the version section the line is in, if any.
    let mut exempt: Option<usize> = None;
    let mut fenced = false;
    for (number, line) in (1..).zip(text.lines()) {
        if markdown && line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        let level = line.chars().take_while(|c| *c == '#').count();
        if markdown && !fenced && level > 0 && line[level..].starts_with(' ') {
            if exempt.is_some_and(|section| level <= section) {
                exempt = None;
            }
            let heading = line.to_ascii_lowercase();
            if exempt.is_none() && (heading.contains("version") || heading.contains("frozen")) {
                exempt = Some(level);
            }
        }
        if exempt.is_some() {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("switchyard:plugin") {
            rest = &rest[at + "switchyard:plugin".len()..];
            let mention: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '@' | '.' | '-'))
                .collect();
            if let Some((_, version)) = mention.split_once('@') {
                let version = version.trim_end_matches('.');
                // `@{}` in code is a template, not a version.
                if version.starts_with(|c: char| c.is_ascii_digit()) && version != current {
                    stale.push((number, version.to_owned()));
                }
            }
        }
    }
    stale
}

/// The files checked: READMEs, the SDK's templates, and the SDK's sources (doc comments).
fn documents(sdk: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = vec![
        sdk.join("README.md"),
        sdk.join("../README.md"),
        sdk.join("../plugins/README.md"),
    ];
    walk(&sdk.join("templates"), &mut files);
    walk(&sdk.join("src"), &mut files);
    files
}

#[test]
fn docs_name_only_the_current_contract_outside_the_version_sections() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for file in documents(sdk) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue; // not text
        };
        let markdown = file.extension().is_some_and(|ext| ext == "md");
        for (line, version) in stale_mentions(&text, markdown, VERSION) {
            problems.push(format!("{}:{line}: {version}", file.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "the current contract is {VERSION}; stale mentions outside a section on versions:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_stale_mention_is_found_and_a_version_section_is_exempt() {
    let text = "\
# Guide
The contract is `switchyard:plugin@0.3.0`.
Build with `-w switchyard:plugin/router@0.5.0`.
## Versions
0.3.0 was `switchyard:plugin@0.3.0`.
### Details of 0.2.0
`switchyard:plugin@0.2.0`
## Install
```sh
# not a heading: switchyard:plugin@0.1.0
```
";
    assert_eq!(
        stale_mentions(text, true, "0.5.0"),
        [(2, "0.3.0".to_owned()), (10, "0.1.0".to_owned())]
    );
    // Outside Markdown, there are no sections.
    assert_eq!(
        stale_mentions("/// Version: switchyard:plugin@0.4.0.", false, "0.5.0"),
        [(1, "0.4.0".to_owned())]
    );
}
