//! End-to-end harness: a mock upstream replaying recorded provider traffic, and the real
//! `switchyard` binary started on port 0 with a configuration pointing at it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use switchyard_tests::MockUpstream;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The credential every test provider reads from the environment.
pub const KEY_ENV: &str = "SWITCHYARD_TEST_KEY";
/// Its value.
pub const KEY: &str = "sk-test-secret-123";

/// The AWS credentials every gateway gets in its environment: (variable, value) for the
/// access key id, the secret access key and the session token.
pub const AWS_ENV: [(&str, &str); 3] = [
    ("SWITCHYARD_TEST_AWS_ACCESS_KEY_ID", "AKIDSWITCHYARDTEST"),
    (
        "SWITCHYARD_TEST_AWS_SECRET_ACCESS_KEY",
        "aws-secret-never-in-the-sandbox-42",
    ),
    ("SWITCHYARD_TEST_AWS_SESSION_TOKEN", "session-token-7"),
];

/// The `extra` lines of a Bedrock test provider ([`provider`]): the [`AWS_ENV`] credentials
/// and a region (the mock's URL names none).
pub const BEDROCK_EXTRA: &str = "aws_credentials = { access_key_id_env = \"SWITCHYARD_TEST_AWS_ACCESS_KEY_ID\", secret_access_key_env = \"SWITCHYARD_TEST_AWS_SECRET_ACCESS_KEY\", session_token_env = \"SWITCHYARD_TEST_AWS_SESSION_TOKEN\" }\noptions = { region = \"eu-west-1\" }";

/// The gateway binary: `SWITCHYARD_TEST_BIN` when set (a copy of this checkout's build, safe from
/// other checkouts sharing the target directory), else the one cargo built for the tests.
pub fn switchyard_bin() -> String {
    std::env::var("SWITCHYARD_TEST_BIN")
        .ok()
        .filter(|bin| !bin.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_switchyard").to_owned())
}

/// Keys of the `[server]` and `[plugins]` tables of a test gateway's configuration.
#[derive(Debug, Clone, Copy)]
pub struct Sections<'a> {
    /// `[server]` keys besides `listen`.
    pub server: &'a str,
    /// `[plugins]` keys besides `dir`.
    pub plugins: &'a str,
}

/// A running gateway process.
pub struct Gateway {
    child: Child,
    pub url: String,
    pub client: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts the gateway with `config` (TOML, without `[server]`), the hostile test plugins in
    /// its plugins folder, listening on a free port.
    pub async fn start(config: &str) -> Gateway {
        Self::launch(config, &[], &[], &[], "").await
    }

    /// [`Gateway::start`] with extra environment variables and arguments after `serve`, e.g.
    /// `--demo`.
    pub async fn start_with_args(config: &str, env: &[(&str, &str)], args: &[&str]) -> Gateway {
        Self::launch(config, env, &[], args, "").await
    }

    /// [`Gateway::start`] taking request bodies up to `max_body_bytes` (default 64 KiB).
    pub async fn start_with_body_limit(config: &str, max_body_bytes: usize) -> Gateway {
        let server = format!("max_body_bytes = {max_body_bytes}");
        Self::launch(config, &[], &[], &[], &server).await
    }

    /// [`Gateway::start`] with extra environment variables.
    pub async fn start_with_env(config: &str, env: &[(&str, &str)]) -> Gateway {
        Self::launch(config, env, &[], &[], "").await
    }

    /// [`Gateway::start`] with extra lines in its `[server]` section, e.g. `keepalive_ms = 100`.
    pub async fn start_with_server(server: &str, config: &str) -> Gateway {
        Self::launch(config, &[], &[], &[], server).await
    }

    /// [`Gateway::start`] with extra plugin files in its plugins folder.
    pub async fn start_with_plugins(config: &str, plugins: &[&str]) -> Gateway {
        Self::launch(config, &[], plugins, &[], "").await
    }

    async fn launch(
        config: &str,
        env: &[(&str, &str)],
        extra_plugins: &[&str],
        args: &[&str],
        server: &str,
    ) -> Gateway {
        let default_limit = if server.contains("max_body_bytes") {
            ""
        } else {
            "max_body_bytes = 65536\n"
        };
        let server = format!("{default_limit}{server}");
        let sections = Sections {
            server: &server,
            plugins: "call_timeout_ms = 500\nmemory_limit_mib = 32",
        };
        Self::launch_with_sections(sections, config, env, extra_plugins, args).await
    }

    /// [`Gateway::start`] with the given keys of `[server]` (besides `listen`) and `[plugins]`
    /// (besides `dir`) instead of the tests' small limits, extra environment and plugin files.
    pub async fn start_with_sections(
        sections: Sections<'_>,
        config: &str,
        env: &[(&str, &str)],
        extra_plugins: &[&str],
    ) -> Gateway {
        Self::launch_with_sections(sections, config, env, extra_plugins, &[]).await
    }

    async fn launch_with_sections(
        sections: Sections<'_>,
        config: &str,
        env: &[(&str, &str)],
        extra_plugins: &[&str],
        args: &[&str],
    ) -> Gateway {
        let dir = tempfile::tempdir().expect("temp dir");
        let plugins = dir.path().join("plugins");
        std::fs::create_dir(&plugins).expect("plugins dir");
        let hostile = [
            switchyard_tests::hostile::PANIC,
            switchyard_tests::hostile::SPIN,
            switchyard_tests::hostile::HOG,
        ];
        for path in hostile.iter().chain(extra_plugins) {
            let name = Path::new(path).file_name().expect("file name");
            std::fs::copy(path, plugins.join(name)).expect("copy plugin");
        }
        // A test that must know the port before the start (a registered callback URL) names it.
        let listen = if sections.server.contains("listen =") {
            ""
        } else {
            "listen = \"127.0.0.1:0\"\n"
        };
        let text = format!(
            "[server]\n{listen}{}\n\n[plugins]\ndir = {:?}\n{}\n\n{config}",
            sections.server,
            plugins.display().to_string(),
            sections.plugins,
        );
        let config_path = dir.path().join("switchyard.toml");
        std::fs::write(&config_path, text).expect("write config");
        let log = std::fs::File::create(dir.path().join("gateway.log")).expect("log file");

        let mut child = Command::new(switchyard_bin())
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .args(args)
            .env(KEY_ENV, KEY)
            .envs(AWS_ENV)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("start switchyard");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        // Generous: a debug-built host compiles a large plugin (the 18 MB Python one) slowly.
        let first = tokio::time::timeout(Duration::from_secs(600), lines.next_line()).await;
        let url = match first {
            Ok(Ok(Some(line))) => line
                .strip_prefix("switchyard listening on ")
                .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
                .to_owned(),
            other => {
                let log =
                    std::fs::read_to_string(dir.path().join("gateway.log")).unwrap_or_default();
                panic!("gateway did not start: {other:?}\n{log}");
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Gateway {
            child,
            url,
            client: reqwest::Client::new(),
            dir,
        }
    }

    /// The gateway's configuration file.
    pub fn config_path(&self) -> std::path::PathBuf {
        self.dir.path().join("switchyard.toml")
    }

    /// The folder of the gateway's extra plugins (watched).
    pub fn plugins_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("plugins")
    }

    /// The gateway's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }

    /// POSTs a chat request and returns status, headers and the body text.
    pub async fn post(&self, body: &Value) -> (u16, reqwest::header::HeaderMap, String) {
        self.post_with_headers(body, &[]).await
    }

    /// [`Gateway::post`] with extra request headers.
    pub async fn post_with_headers(
        &self,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut request = self
            .client
            .post(format!("{}/v1/chat/completions", self.url))
            .json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.expect("body"))
    }

    /// POSTs a chat request and returns status, headers and the body as JSON.
    pub async fn chat(&self, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
        let (status, headers, text) = self.post(body).await;
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("not JSON ({status}): {text}\n{}", self.log()));
        (status, headers, json)
    }

    /// POSTs an embeddings request (`/v1/embeddings`) and returns status and JSON body.
    pub async fn embed(&self, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/v1/embeddings", self.url))
            .json(body)
            .send()
            .await
            .expect("embeddings request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// POSTs a streamed chat request and returns status and the `data:` payloads in order.
    pub async fn stream(&self, body: &Value) -> (u16, Vec<String>) {
        let (status, _, text) = self.post(body).await;
        let events = text
            .split("\n\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .map(str::to_owned)
            .collect();
        (status, events)
    }

    /// GETs a path and returns status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }
}

impl Gateway {
    /// Stops the gateway gracefully (SIGTERM) and waits until it exited; its exit status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("the gateway is running");
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("kill");
        assert!(sent.success());
        self.child.wait().await.expect("the gateway's exit")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- gateway log ----\n{}", self.log());
        }
        let _ = self.child.start_kill();
    }
}

/// The value of the first sample of metric `name` in the Prometheus exposition `text` whose
/// labels contain every one of `labels`.
pub fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// A provider section pointing at a mock scenario.
pub fn provider(
    name: &str,
    plugin: &str,
    mock: &MockUpstream,
    scenario: &str,
    extra: &str,
) -> String {
    format!(
        "[providers.{name}]\nplugin = \"{plugin}\"\nbase_url = \"{}\"\napi_key_env = \"{KEY_ENV}\"\n{extra}\n",
        mock.base_url(scenario)
    )
}

/// A model section. `endpoints` are `(provider, prompt price, completion price)`.
pub fn model(id: &str, endpoints: &[(&str, &str, &str)]) -> String {
    let endpoints: Vec<String> = endpoints
        .iter()
        .map(|(provider, prompt, completion)| {
            format!(
                "{{ provider = \"{provider}\", upstream_model = \"up-{provider}\", prompt_price = \"{prompt}\", completion_price = \"{completion}\" }}"
            )
        })
        .collect();
    format!(
        "[[models]]\nid = \"{id}\"\nendpoints = [{}]\n",
        endpoints.join(", ")
    )
}

/// A one-message chat request.
pub fn request(model: &str, stream: bool) -> Value {
    serde_json::json!({
        "model": model,
        "stream": stream,
        "messages": [
            { "role": "system", "content": "Be brief." },
            { "role": "user", "content": "Hello!" }
        ]
    })
}

/// The text of a non-stream fixture's first choice.
pub fn fixture_json(name: &str) -> Value {
    let path = switchyard_tests::fixtures_dir().join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

/// Parses the stream's JSON events (everything but `[DONE]`).
pub fn chunks(events: &[String]) -> Vec<Value> {
    events
        .iter()
        .filter(|event| event.as_str() != "[DONE]")
        .map(|event| {
            serde_json::from_str(event).unwrap_or_else(|_| panic!("chunk is not JSON: {event}"))
        })
        .collect()
}

/// The concatenated `delta.content` of a stream.
pub fn streamed_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect()
}

/// The variable naming the PostgreSQL server tests may use (a role that may create databases).
pub const POSTGRES_ENV: &str = "SWITCHYARD_TEST_POSTGRES_URL";

/// The variable naming the Redis server tests may use.
pub const REDIS_ENV: &str = "SWITCHYARD_TEST_REDIS_URL";

/// The test Redis server's URL; `None`, saying `test` is skipped, without one.
pub fn test_redis_url(test: &str) -> Option<String> {
    let url = std::env::var(REDIS_ENV).ok();
    if url.is_none() {
        skipped(test, REDIS_ENV, "Redis");
    }
    url
}

/// Says, past the test harness's capture so that every run shows it, that `test` is skipped.
fn skipped(test: &str, variable: &str, server: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: set {variable} to run it against {server}"
    );
}

/// The URL of a fresh database for `test` on the test PostgreSQL server (the one a previous
/// run left is dropped first, so runs leave at most one per test); `None`, saying `test` is
/// skipped, without a server.
pub async fn fresh_postgres_database(test: &str) -> Option<String> {
    let Ok(server) = std::env::var(POSTGRES_ENV) else {
        skipped(test, POSTGRES_ENV, "PostgreSQL");
        return None;
    };
    sqlx::any::install_default_drivers();
    // PostgreSQL names hold 63 bytes.
    let name: String = format!("switchyard_test_{test}").chars().take(63).collect();
    let pool = sqlx::AnyPool::connect(&server).await.expect("PostgreSQL");
    for statement in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::query(&statement)
            .execute(&pool)
            .await
            .expect("a fresh database");
    }
    pool.close().await;
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    Some(format!("{base}/{name}"))
}

/// The built-in `openai` adapter component.
pub fn openai_component() -> Vec<u8> {
    switchyard_plugin_runtime::builtin::BUILTIN_PLUGINS
        .iter()
        .find(|(package, _)| *package == "switchyard-plugin-openai")
        .map(|(_, bytes)| bytes.to_vec())
        .unwrap()
}

/// The same component with a custom section appended: identical behaviour, a new digest.
pub fn variant(mut component: Vec<u8>, n: u32) -> Vec<u8> {
    let name = b"switchyard-test-variant";
    let payload = n.to_le_bytes();
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    section.extend_from_slice(&payload);
    component.push(0); // custom section id
    component.push(section.len() as u8); // LEB128 size (< 128)
    component.extend_from_slice(&section);
    component
}
