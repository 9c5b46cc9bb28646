//! End to end: a routing policy written in Python (`tests/plugins/python-policy/app.py`), built
//! into a component with componentize-py at test time against the frozen contract 0.1.0
//! (`wit/v0.1.0`: old plugins keep loading beside current ones), loaded from the gateway's
//! plugins folder and used by a model. The policy tries the candidates last first, which the default `price`
//! policy never does here (the first endpoint is free), so the endpoint that served shows whose
//! order was used.
//!
//! Installs componentize-py 0.25.1 from PyPI into a virtual environment under the target folder
//! on first use; needs `python3` with `venv`.
//!
//! Slow on a debug-built host: compiling the 18 MB component (it embeds CPython) takes about a
//! minute on 2 cores the first time; later runs reuse the component and the gateway's compile
//! cache.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{Gateway, provider, request};
use switchyard_tests::MockUpstream;

/// The componentize-py release this test is written against.
const COMPONENTIZE_PY: &str = "0.25.1";
const INSTALL: &str = "pip install componentize-py==0.25.1";
/// The policy's name, from its `describe`.
const POLICY: &str = "python-reverse";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf()
}

/// componentize-py, installed on first use into a virtual environment of its own under the
/// test's target temp dir (PyPI), so `cargo test` needs nothing but `python3` on the machine.
fn componentize_py() -> PathBuf {
    let venv =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("componentize-py-{COMPONENTIZE_PY}"));
    let tool = venv.join("bin/componentize-py");
    if tool.is_file() {
        return tool;
    }
    let run = |program: &Path, args: &[&str]| {
        let output = std::process::Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", program.display()));
        assert!(
            output.status.success(),
            "{} {args:?} failed ({}): {}\ninstalling componentize-py needs python3 with venv and \
             access to PyPI (or install it yourself: `{INSTALL}`)",
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(
        Path::new("python3"),
        &["-m", "venv", venv.to_str().expect("UTF-8 path")],
    );
    let pip = venv.join("bin/pip");
    run(
        &pip,
        &[
            "install",
            "--quiet",
            &format!("componentize-py=={COMPONENTIZE_PY}"),
        ],
    );
    tool
}

/// Builds the Python policy with componentize-py and returns the component, failing with the
/// install command when the tool is missing or another version. The component is kept in the
/// test's target temp dir and rebuilt only when `app.py` or the tool changes: componentize-py's
/// output differs from build to build, so reusing it lets the gateway's compile cache (keyed by
/// the component's digest) skip the slow compile on later runs.
fn build_python_policy() -> PathBuf {
    let tool = componentize_py();
    let version = std::process::Command::new(&tool).arg("--version").output();
    let version = match version {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        Ok(output) => panic!(
            "`componentize-py --version` failed ({}): {}\ninstall it with `{INSTALL}`",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!(
            "componentize-py is not installed ({error}): this test builds a Python plugin with \
             it; install it with `{INSTALL}`"
        ),
    };
    assert!(
        version.ends_with(COMPONENTIZE_PY),
        "this test needs componentize-py {COMPONENTIZE_PY}, found `{version}`: `{INSTALL}`"
    );
    let root = repo_root();
    let source = root.join("tests/plugins/python-policy");
    let app = std::fs::read_to_string(source.join("app.py")).expect("read app.py");
    let wit: String = ["types.wit", "router.wit"]
        .iter()
        .map(|file| std::fs::read_to_string(root.join("wit/v0.1.0").join(file)).unwrap_or_default())
        .collect();
    let stamp_text = format!("{version}\n{wit}\n{app}");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-policy");
    std::fs::create_dir_all(&out_dir).expect("component folder");
    let output = out_dir.join(format!("{POLICY}.wasm"));
    let stamp = out_dir.join("stamp");
    if output.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&stamp_text) {
        return output;
    }
    let result = std::process::Command::new(&tool)
        .current_dir(&root)
        .args([
            "-d",
            "wit/v0.1.0",
            "-w",
            "switchyard:plugin/router@0.1.0",
            "componentize",
            "app",
        ])
        .arg("-p")
        .arg(&source)
        .arg("-o")
        .arg(&output)
        .output()
        .expect("run componentize-py");
    assert!(
        result.status.success(),
        "componentize-py failed ({}):\n{}\n{}",
        result.status,
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::write(&stamp, stamp_text).expect("write stamp");
    output
}

const FIRST: &str = "fixture=openai/openai-text";
const LAST: &str = "fixture=groq/groq-tool-call";

#[tokio::test]
async fn a_python_routing_policy_orders_the_endpoints() {
    let started = Instant::now();
    let component = build_python_policy();
    let built = started.elapsed();
    let size = std::fs::metadata(&component).expect("component").len();

    let mock = MockUpstream::start().await.unwrap();
    // The first endpoint is free: the default `price` policy always puts it first.
    let config = format!(
        "{}{}[[models]]\nid = \"m/python\"\npolicy = \"{POLICY}\"\nendpoints = [\n  {{ provider = \"first\", upstream_model = \"up-first\", prompt_price = \"0\", completion_price = \"0\" }},\n  {{ provider = \"last\", upstream_model = \"up-last\", prompt_price = \"1\", completion_price = \"1\" }},\n]\n\n[[models]]\nid = \"m/price\"\nendpoints = [\n  {{ provider = \"first\", upstream_model = \"up-first\", prompt_price = \"0\", completion_price = \"0\" }},\n  {{ provider = \"last\", upstream_model = \"up-last\", prompt_price = \"1\", completion_price = \"1\" }},\n]\n",
        provider("first", "openai", &mock, FIRST, ""),
        provider("last", "openai", &mock, LAST, ""),
    );
    let gateway =
        Gateway::start_with_plugins(&config, &[component.to_str().expect("UTF-8 path")]).await;
    let ready = started.elapsed();

    let (_, health) = gateway.get("/health").await;
    assert!(
        health.to_string().contains(POLICY),
        "the Python policy is loaded: {health}"
    );

    for _ in 0..3 {
        let (status, _, body) = gateway.chat(&request("m/python", false)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["provider"], "last",
            "the policy's order: last first: {body}"
        );
        assert_eq!(
            body["choices"][0]["finish_reason"], "tool_calls",
            "the groq tool-call fixture answered: {body}"
        );
    }
    // Control: the default policy over the same endpoints serves the free first one.
    let (status, _, body) = gateway.chat(&request("m/price", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "first", "{body}");

    assert_eq!(mock.requests_for(LAST).len(), 3);
    assert_eq!(mock.requests_for(FIRST).len(), 1);
    eprintln!(
        "python policy: component {size} bytes built in {built:?}; gateway ready at {ready:?}; \
         test done at {:?}",
        started.elapsed()
    );
}
