//! The built-in catalog: its data validates, the real gateway serves it (listing, routing to the
//! cheapest endpoint, disabled providers), and the `catalog import` / `models` commands.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{AWS_ENV, Gateway, KEY_ENV, request};
use serde_json::Value;
use switchyard_catalog::import::ImportRules;
use switchyard_domain::config::builtin_catalog::{self, ALIASES};
use switchyard_tests::MockUpstream;

#[test]
fn the_builtin_catalog_validates() {
    let providers = builtin_catalog::providers().expect("providers");
    let file = builtin_catalog::models().expect("models");
    // The issue's 25 providers but Bedrock, whose adapter is not in this tree yet.
    assert!(providers.len() >= 24, "{}", providers.len());
    assert!(file.models.len() >= 300, "{}", file.models.len());

    // The source and date are recorded.
    assert!(file.source.url.starts_with("https://"));
    assert!(!file.source.version.is_empty() && file.source.license == "MIT");
    let date = file.source.imported.as_bytes();
    assert!(
        date.len() == 10 && date[4] == b'-' && date[7] == b'-',
        "{}",
        file.source.imported
    );

    // Every provider has a known credential variable (AWS credentials for Bedrock), or is a
    // local server without one.
    for (name, provider) in &providers {
        match (&provider.api_key_env, &provider.aws_credentials) {
            (Some(variable), None) => {
                assert!(variable.ends_with("_API_KEY"), "{name}: {variable}")
            }
            (None, Some(aws)) => assert_eq!(aws.secret_access_key_env, "AWS_SECRET_ACCESS_KEY"),
            (Some(_), Some(_)) => panic!("{name}: an API key and AWS credentials"),
            (None, None) => {
                assert_eq!(
                    provider.options.get("auth").map(String::as_str),
                    Some("none"),
                    "{name}"
                );
                assert!(
                    provider.base_url_env.is_some(),
                    "{name} needs a base URL variable"
                );
            }
        }
        assert!(
            provider.base_url.is_some() || provider.base_url_env.is_some(),
            "{name}"
        );
    }

    let mut ids = BTreeSet::new();
    for model in &file.models {
        // Canonical ids: unique, `author/slug`, lowercase.
        assert!(ids.insert(model.id.as_str()), "{} twice", model.id);
        let (author, slug) = model.id.split_once('/').expect("author/slug");
        assert!(
            !author.is_empty() && !slug.is_empty() && !slug.contains('/'),
            "{}",
            model.id
        );
        assert_eq!(model.id, model.id.to_lowercase());
        assert!(model.name.is_some(), "{}", model.id);
        assert!(!model.endpoints.is_empty(), "{}", model.id);
        let mut serving = BTreeSet::new();
        for endpoint in &model.endpoints {
            // No duplicate endpoints, every provider defined, every endpoint priced.
            assert!(
                serving.insert(&endpoint.provider),
                "{}: {} twice",
                model.id,
                endpoint.provider
            );
            assert!(
                providers.contains_key(&endpoint.provider),
                "{}: {}",
                model.id,
                endpoint.provider
            );
            assert!(
                !endpoint.prompt_price.is_zero() || !endpoint.completion_price.is_zero(),
                "{} on {} has no price",
                model.id,
                endpoint.provider
            );
            assert!(
                !endpoint.prompt_price.is_sign_negative()
                    && !endpoint.completion_price.is_sign_negative()
            );
        }
    }

    // Several providers serve the open-weight models.
    let llama = (file.models.iter())
        .find(|model| model.id == "meta-llama/llama-3.3-70b-instruct")
        .expect("llama 3.3");
    assert!(llama.endpoints.len() >= 3, "{:?}", llama.endpoints);
    // Bedrock's endpoints name a Bedrock model id (`meta.llama3-3-70b-instruct-v1:0`) or an
    // inference profile (`us.…`), as its Converse URL takes them.
    let bedrock = (file.models.iter())
        .flat_map(|model| &model.endpoints)
        .filter(|endpoint| endpoint.provider == "bedrock");
    for endpoint in bedrock {
        let id = &endpoint.upstream_model;
        assert!(id.contains('.') && !id.contains(['/', '@']), "{id}");
    }

    // Every alias resolves to an endpoint of its canonical model.
    let rules = ImportRules::parse(ALIASES).expect("rules");
    assert!(!rules.aliases.is_empty());
    for (alias, canonical) in &rules.aliases {
        let model = (file.models.iter())
            .find(|model| &model.id == canonical)
            .unwrap_or_else(|| panic!("alias {alias} → {canonical}: no such model"));
        assert!(
            (model.endpoints.iter())
                .any(|e| format!("{}/{}", e.provider, e.upstream_model) == *alias),
            "alias {alias} is not an endpoint of {canonical}"
        );
    }
    // Every import source names a built-in provider.
    for (source, rule) in &rules.sources {
        assert!(
            providers.contains_key(&rule.provider),
            "{source} → {}",
            rule.provider
        );
    }
}

#[tokio::test]
async fn every_builtin_provider_has_a_loaded_adapter() {
    // The gateway refuses to start when a provider's adapter is missing; /health lists them.
    let gateway = Gateway::start("").await;
    let (status, health) = gateway.get("/health").await;
    assert_eq!(status, 200);
    let providers = health["plugins"]["providers"]
        .as_array()
        .expect("provider plugins");
    let loaded: BTreeSet<&str> = (providers.iter())
        .filter_map(|plugin| plugin["name"].as_str())
        .collect();
    for (name, provider) in builtin_catalog::providers().expect("providers") {
        assert!(
            loaded.contains(provider.plugin.as_str()),
            "{name}: {}",
            provider.plugin
        );
    }
}

/// Environment with one credential: every other built-in provider's variables are blanked (an
/// empty variable disables its provider), in case the shell running the tests has them.
fn only_credential(variable: &str, value: &str) -> Vec<(String, String)> {
    only_credentials(&[(variable, value)])
}

/// Environment with these credentials only, the other built-in providers' variables (AWS ones
/// too) blanked.
fn only_credentials(credentials: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = (builtin_catalog::providers().unwrap().into_values())
        .flat_map(|provider| {
            let aws = provider.aws_credentials.map(|aws| {
                [aws.access_key_id_env, aws.secret_access_key_env]
                    .into_iter()
                    .chain(aws.session_token_env)
            });
            [provider.api_key_env, provider.base_url_env]
                .into_iter()
                .flatten()
                .chain(aws.into_iter().flatten())
        })
        .filter(|name| !credentials.iter().any(|(variable, _)| variable == name))
        .map(|name| (name, String::new()))
        .collect();
    env.extend(
        (credentials.iter()).map(|(variable, value)| ((*variable).to_owned(), (*value).to_owned())),
    );
    env
}

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Groq pointed at the mock, with its key; everything else built in.
fn groq_config(mock: &MockUpstream) -> String {
    format!(
        "[catalog.providers.groq]\nbase_url = \"{}\"\n",
        mock.base_url("")
    )
}

/// Asserts `/v1/models` lists exactly the built-in models `provider` serves; returns their ids
/// and the listing's entries.
async fn lists_exactly_the_models_of(
    gateway: &Gateway,
    provider: &str,
) -> (BTreeSet<String>, Vec<Value>) {
    let expected: BTreeSet<String> = (builtin_catalog::models().unwrap().models.iter())
        .filter(|model| model.endpoints.iter().any(|e| e.provider == provider))
        .map(|model| model.id.clone())
        .collect();
    let (status, listed) = gateway.get("/v1/models").await;
    assert_eq!(status, 200);
    let data = listed["data"].as_array().unwrap().clone();
    let ids: BTreeSet<String> = data
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, expected);
    (expected, data)
}

#[tokio::test]
async fn one_provider_key_lists_that_providers_models_with_prices() {
    let mock = MockUpstream::start().await.unwrap();
    let env = only_credential("GROQ_API_KEY", "gsk-test");
    let gateway = Gateway::start_with_env(&groq_config(&mock), &pairs(&env)).await;
    let (groq, data) = lists_exactly_the_models_of(&gateway, "groq").await;
    assert!(groq.len() >= 3, "{groq:?}");
    let oss = data
        .iter()
        .find(|m| m["id"] == "openai/gpt-oss-120b")
        .unwrap();
    assert_eq!(oss["providers"], serde_json::json!(["groq"]));
    assert_eq!(oss["pricing"]["prompt"], "0.00000015");
    assert_eq!(oss["pricing"]["completion"], "0.0000006");

    let (status, listed) = gateway.get("/api/v1/models").await;
    assert_eq!(status, 200);
    let data = listed["data"].as_array().unwrap();
    assert_eq!(data.len(), groq.len());
    let oss = data
        .iter()
        .find(|m| m["id"] == "openai/gpt-oss-120b")
        .unwrap();
    assert_eq!(oss["name"], "OpenAI: GPT OSS 120B");
    assert_eq!(oss["context_length"], 131072);
    assert_eq!(
        oss["architecture"]["input_modalities"],
        serde_json::json!(["text"])
    );
    assert_eq!(
        oss["architecture"]["output_modalities"],
        serde_json::json!(["text"])
    );
    let pricing = &oss["pricing"];
    for key in [
        "prompt",
        "completion",
        "request",
        "image",
        "input_cache_read",
        "input_cache_write",
        "internal_reasoning",
    ] {
        assert!(pricing[key].is_string(), "{key}: {pricing}");
    }
    assert_eq!(pricing["prompt"], "0.00000015");
    assert_eq!(oss["top_provider"]["is_moderated"], false);
    assert!(oss["top_provider"]["max_completion_tokens"].is_u64());
    assert!(
        oss["supported_parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "tools")
    );

    // Filters and the switch to list everything known.
    let (_, tools) = gateway
        .get("/api/v1/models?supported_parameters=tools,reasoning")
        .await;
    let tools = tools["data"].as_array().unwrap();
    assert!(!tools.is_empty() && tools.len() <= groq.len());
    for model in tools {
        let parameters = model["supported_parameters"].as_array().unwrap();
        assert!(
            parameters.iter().any(|p| p == "tools") && parameters.iter().any(|p| p == "reasoning")
        );
    }
    let (_, none) = gateway.get("/api/v1/models?output_modalities=image").await;
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
    let (_, all) = gateway.get("/api/v1/models?all=true").await;
    assert_eq!(
        all["data"].as_array().unwrap().len(),
        builtin_catalog::models().unwrap().models.len()
    );
    let (status, error) = gateway.get("/api/v1/models?all=maybe").await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["type"], "invalid_request_error");

    // A listed model answers, through Groq at the mock.
    let (status, _, body) = gateway.chat(&request("openai/gpt-oss-120b", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "groq");
    let requests = mock.requests();
    assert_eq!(
        requests.last().unwrap().json.as_ref().unwrap()["model"],
        "openai/gpt-oss-120b"
    );
}

#[tokio::test]
async fn aws_credentials_alone_list_and_serve_bedrocks_models() {
    let mock = MockUpstream::start().await.unwrap();
    let env = only_credentials(&[
        ("AWS_ACCESS_KEY_ID", AWS_ENV[0].1),
        ("AWS_SECRET_ACCESS_KEY", AWS_ENV[1].1),
    ]);
    let config = format!(
        "[plugins.overrides.bedrock]\ncall_timeout_ms = 10000\n\n[catalog.providers.bedrock]\nbase_url = \"{}\"\noptions = {{ region = \"us-east-1\" }}\n",
        mock.base_url("fixture=bedrock/amazon-bedrock-text")
    );
    let gateway = Gateway::start_with_env(&config, &pairs(&env)).await;
    let (bedrock, data) = lists_exactly_the_models_of(&gateway, "bedrock").await;
    assert!(bedrock.len() >= 50, "{bedrock:?}");
    // A model Anthropic serves too is listed with Bedrock's endpoint only, at Bedrock's price.
    let haiku = data
        .iter()
        .find(|m| m["id"] == "anthropic/claude-haiku-4.5")
        .unwrap();
    assert_eq!(haiku["providers"], serde_json::json!(["bedrock"]));
    assert_eq!(haiku["pricing"]["prompt"], "0.000001");
    assert_eq!(haiku["pricing"]["completion"], "0.000005");

    // A listed model answers through Bedrock at the mock: the Converse URL takes the exact
    // model id, signed with the AWS key for us-east-1.
    let (status, _, body) = gateway.chat(&request("amazon/nova-lite-v1", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "bedrock");
    assert_eq!(body["usage"]["completion_tokens"], 57);
    let requests = mock.requests();
    let sent = requests.last().unwrap();
    assert_eq!(
        sent.path,
        "/fixture=bedrock/amazon-bedrock-text/v1/model/amazon.nova-lite-v1%3A0/converse"
    );
    let authorization = sent.header("authorization").unwrap();
    assert!(
        authorization.starts_with(&format!("AWS4-HMAC-SHA256 Credential={}/", AWS_ENV[0].1))
            && authorization.contains("/us-east-1/bedrock/aws4_request"),
        "{authorization}"
    );
    assert_eq!(sent.header("x-amz-security-token"), None);
}

/// Three built-in providers pointed at the mock under the test key, serving one canonical model
/// at crafted prices: Together far cheaper than Fireworks and DeepInfra.
fn three_providers(mock: &MockUpstream, extra: &str) -> String {
    let mut config = String::new();
    for provider in ["together", "fireworks", "deepinfra"] {
        config.push_str(&format!(
            "[catalog.providers.{provider}]\nbase_url = \"{}\"\napi_key_env = \"{KEY_ENV}\"\n{}\n",
            mock.base_url(""),
            if provider == "fireworks" { extra } else { "" }
        ));
    }
    config.push_str(
        r#"
[[models]]
id = "meta-llama/llama-3.3-70b-instruct"
endpoints = [
  { provider = "fireworks", upstream_model = "fw-llama", prompt_price = "20", completion_price = "20" },
  { provider = "together", upstream_model = "tg-llama", prompt_price = "0.02", completion_price = "0.02" },
  { provider = "deepinfra", upstream_model = "di-llama", prompt_price = "20", completion_price = "20" },
]
"#,
    );
    config
}

async fn providers_serving(gateway: &Gateway, requests: usize) -> BTreeMap<String, usize> {
    let mut served = BTreeMap::new();
    for _ in 0..requests {
        let (status, _, body) = gateway
            .chat(&request("meta-llama/llama-3.3-70b-instruct", false))
            .await;
        assert_eq!(status, 200, "{body}");
        *served
            .entry(body["provider"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    served
}

#[tokio::test]
async fn a_canonical_model_routes_to_its_cheapest_endpoint() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&three_providers(&mock, "")).await;
    // Weights 1/price²: the cheapest endpoint is a million times likelier than each other one.
    let served = providers_serving(&gateway, 40).await;
    assert_eq!(served, BTreeMap::from([("together".to_owned(), 40)]));
    let (_, listed) = gateway.get("/v1/models").await;
    let llama = (listed["data"].as_array().unwrap().iter())
        .find(|m| m["id"] == "meta-llama/llama-3.3-70b-instruct")
        .unwrap();
    assert_eq!(
        llama["providers"],
        serde_json::json!(["fireworks", "together", "deepinfra"])
    );
    assert_eq!(llama["pricing"]["prompt"], "0.00000002");
}

#[tokio::test]
async fn disabling_a_provider_removes_its_endpoints() {
    let mock = MockUpstream::start().await.unwrap();
    let config = three_providers(&mock, "").replace(
        "[catalog.providers.together]\n",
        "[catalog.providers.together]\nenabled = false\n",
    );
    let gateway = Gateway::start(&config).await;
    let served = providers_serving(&gateway, 10).await;
    assert!(!served.contains_key("together"), "{served:?}");
    let (_, listed) = gateway.get("/api/v1/models").await;
    let llama = (listed["data"].as_array().unwrap().iter())
        .find(|m| m["id"] == "meta-llama/llama-3.3-70b-instruct")
        .unwrap();
    assert_eq!(
        llama["providers"],
        serde_json::json!(["fireworks", "deepinfra"])
    );
    assert_eq!(llama["pricing"]["prompt"], "0.00002");
    // No Together model is listed any more.
    let together_only = (builtin_catalog::models().unwrap().models.into_iter())
        .find(|m| m.endpoints.len() == 1 && m.endpoints[0].provider == "together")
        .unwrap();
    let listed_ids: Vec<&Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert!(
        !listed_ids.iter().any(|id| **id == together_only.id),
        "{}",
        together_only.id
    );
}

fn switchyard(args: &[&str], env: &[(String, String)]) -> (bool, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run switchyard");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn catalog_import_converts_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("models.json");
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/litellm_sample.json"
    );
    let (ok, _, stderr) = switchyard(
        &[
            "catalog",
            "import",
            sample,
            "--source-version",
            "litellm 1.110.2",
            "--date",
            "2026-11-25",
            "--output",
            output.to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("imported 11 models, 15 endpoints"),
        "{stderr}"
    );
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(file["source"]["version"], "litellm 1.110.2");
    assert_eq!(file["source"]["imported"], "2026-11-25");
    assert_eq!(file["models"].as_array().unwrap().len(), 11);

    let (ok, _, stderr) = switchyard(&["catalog", "import", "/nonexistent.json"], &[]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent.json"), "{stderr}");
}

#[test]
fn models_prints_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchyard.toml");
    std::fs::write(
        &config,
        "[catalog.providers.cerebras]\nbase_url = \"http://127.0.0.1:9/v1\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let (ok, stdout, stderr) = switchyard(
        &["models", "--config", config],
        &only_credential("CEREBRAS_API_KEY", "csk-test"),
    );
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("id") && lines[0].contains("prompt $/M"),
        "{stdout}"
    );
    let oss = lines
        .iter()
        .find(|line| line.starts_with("openai/gpt-oss-120b "))
        .expect(&stdout);
    assert!(
        oss.contains("0.35") && oss.contains("0.75") && oss.ends_with("cerebras"),
        "{oss}"
    );
    assert!(lines.len() > 2 && lines.len() < 20, "{stdout}");

    let (ok, all, _) = switchyard(
        &[
            "models",
            "--config",
            config,
            "--all",
            "--supported-parameters",
            "tools",
        ],
        &[],
    );
    assert!(ok);
    assert!(all.lines().count() > 100, "{all}");
    assert!(all.contains("(none enabled)"));
}

#[tokio::test]
async fn a_local_server_is_enabled_by_its_base_url_variable() {
    let mock = MockUpstream::start().await.unwrap();
    let config = r#"
[[models]]
id = "local/llama"
endpoints = [{ provider = "ollama", upstream_model = "llama3.2" }]
"#;
    let env = only_credential("SWITCHYARD_TEST_UNUSED", "");
    let gateway = Gateway::start_with_env(config, &pairs(&env)).await;
    let (status, _, body) = gateway.chat(&request("local/llama", false)).await;
    assert_eq!(status, 404, "{body}");
    let reason = body["error"]["metadata"]["disabled"][0].as_str().unwrap();
    assert!(reason.contains("OLLAMA_BASE_URL"), "{reason}");
    drop(gateway);

    let env = only_credential("OLLAMA_BASE_URL", &mock.base_url(""));
    let gateway = Gateway::start_with_env(config, &pairs(&env)).await;
    let (status, _, body) = gateway.chat(&request("local/llama", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "ollama");
    let upstream = mock.requests().pop().unwrap();
    assert_eq!(
        upstream.header("authorization"),
        None,
        "no credential goes to a local server"
    );
    assert_eq!(upstream.json.unwrap()["model"], "llama3.2");
}

#[tokio::test]
async fn nitro_routes_a_canonical_model_to_its_fastest_endpoint() {
    let mock = MockUpstream::start().await.unwrap();
    // The cheapest provider answers 300 ms late.
    let config = three_providers(&mock, "").replace(
        &format!(
            "[catalog.providers.together]\nbase_url = \"{}\"",
            mock.base_url("")
        ),
        &format!(
            "[catalog.providers.together]\nbase_url = \"{}\"",
            mock.base_url("fixture=openai/openai-text,delay_ms=300")
        ),
    );
    let gateway = Gateway::start(&config).await;
    let model = "meta-llama/llama-3.3-70b-instruct";
    // One request on each provider measures it.
    for provider in ["together", "fireworks", "deepinfra"] {
        let mut body = request(model, false);
        body["provider"] = serde_json::json!({ "only": [provider] });
        let (status, _, response) = gateway.chat(&body).await;
        assert_eq!(status, 200, "{response}");
        assert_eq!(response["provider"], provider);
    }
    for _ in 0..5 {
        let (_, _, cheapest) = gateway.chat(&request(model, false)).await;
        assert_eq!(cheapest["provider"], "together", "{cheapest}");
        let (_, _, fastest) = gateway
            .chat(&request(&format!("{model}:nitro"), false))
            .await;
        assert_ne!(fastest["provider"], "together", "{fastest}");
        assert_eq!(fastest["model"], model);
    }
}
