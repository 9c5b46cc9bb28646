//! The `switchyard keys`, `switchyard credits` and `switchyard tokens` subcommands: manage API keys and credits of a
//! running gateway through its admin API, printing the gateway's JSON answer.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use switchyard_domain::money::LimitReset;

/// Which gateway to manage, and its admin token.
#[derive(Debug, Args)]
pub struct AdminTarget {
    /// The gateway's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    gateway: String,
    /// The admin token.
    #[arg(long, env = "SWITCHYARD_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
}

/// `switchyard keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Creates an API key; its secret is printed this once.
    Create {
        /// A name for people.
        #[arg(long, default_value = "")]
        label: String,
        /// The account it spends from (created when missing).
        #[arg(long, default_value = "default")]
        account: String,
        /// Limit, reset and expiry.
        #[command(flatten)]
        settings: KeySettings,
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Lists the keys (never their secrets).
    List {
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Changes a key's label, limit, reset, expiry or state.
    Update {
        /// Key id (`key_...`).
        id: String,
        /// A new label.
        #[arg(long)]
        label: Option<String>,
        /// Limit, reset and expiry.
        #[command(flatten)]
        settings: KeySettings,
        /// Removes the USD limit.
        #[arg(long, conflicts_with = "limit")]
        no_limit: bool,
        /// Removes the limit reset (the limit then counts all spending).
        #[arg(long, conflicts_with = "limit_reset")]
        no_limit_reset: bool,
        /// Removes the expiry.
        #[arg(long, conflicts_with = "expires_at")]
        no_expiry: bool,
        /// Removes both rate limits.
        #[arg(long, conflicts_with_all = ["requests_per_minute", "tokens_per_minute"])]
        no_rate_limits: bool,
        /// The key's requests use each model's routing policy again.
        #[arg(long, conflicts_with = "routing_policy")]
        no_routing_policy: bool,
        /// Takes the key out of its team.
        #[arg(long, conflicts_with = "team")]
        no_team: bool,
        /// Refuses requests with the key.
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        /// Accepts requests with the key again.
        #[arg(long)]
        enable: bool,
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Deletes a key (its spending stays on its account).
    Delete {
        /// Key id (`key_...`).
        id: String,
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
}

/// Settings shared by `create` and `update`.
#[derive(Debug, Args)]
pub struct KeySettings {
    /// Most the key may spend, in USD (per window with --limit-reset).
    #[arg(long)]
    limit: Option<String>,
    /// When the limit starts over.
    #[arg(long, value_parser = parse_reset)]
    limit_reset: Option<LimitReset>,
    /// Unix seconds after which the key stops working.
    #[arg(long)]
    expires_at: Option<i64>,
    /// Rate limit: requests per minute.
    #[arg(long)]
    requests_per_minute: Option<u32>,
    /// Rate limit: prompt and completion tokens per minute.
    #[arg(long)]
    tokens_per_minute: Option<u32>,
    /// Routing policy plugin for the key's requests (e.g. `latency`), instead of each model's.
    #[arg(long)]
    routing_policy: Option<String>,
    /// The team the key belongs to (of the same account).
    #[arg(long)]
    team: Option<String>,
    /// Only these models: ids or `*` globs, comma-separated (e.g. `anthropic/*`).
    #[arg(long, value_delimiter = ',')]
    allowed_models: Option<Vec<String>>,
    /// Only these providers, comma-separated.
    #[arg(long, value_delimiter = ',')]
    allowed_providers: Option<Vec<String>>,
    /// Never these providers, comma-separated.
    #[arg(long, value_delimiter = ',')]
    denied_providers: Option<Vec<String>>,
    /// Highest prompt price, USD per million tokens.
    #[arg(long)]
    max_prompt_price: Option<String>,
    /// Highest completion price, USD per million tokens.
    #[arg(long)]
    max_completion_price: Option<String>,
    /// A budget on models: `GLOB=USD` or `GLOB=USD/RESET` (e.g. `openai/gpt-5*=50/monthly`);
    /// repeat for several. Given, they replace the key's budgets on models.
    #[arg(long = "model-budget", value_parser = parse_model_budget)]
    model_budgets: Vec<(String, Value)>,
    /// Only providers with zero data retention.
    #[arg(long)]
    require_zdr: bool,
    /// Only providers that neither store nor train on prompts.
    #[arg(long)]
    deny_data_collection: bool,
}

/// `GLOB=USD[/RESET]` as a model id or glob and its budget's JSON.
fn parse_model_budget(text: &str) -> Result<(String, Value), String> {
    let (pattern, budget) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("{text:?}: expected GLOB=USD or GLOB=USD/RESET"))?;
    let (usd, reset) = match budget.split_once('/') {
        Some((usd, reset)) => (usd, Some(parse_reset(reset)?.as_str())),
        None => (budget, None),
    };
    Ok((
        pattern.to_owned(),
        json!({ "limit": usd, "limit_reset": reset }),
    ))
}

fn parse_reset(text: &str) -> Result<LimitReset, String> {
    LimitReset::parse(text).ok_or_else(|| "expected daily, weekly or monthly".to_owned())
}

/// `switchyard credits ...`.
#[derive(Debug, Subcommand)]
pub enum CreditsCommand {
    /// Adds credits (USD) to an account, creating it when missing.
    Add {
        /// Account id.
        account: String,
        /// USD to add (negative to take back).
        #[arg(allow_hyphen_values = true)]
        amount: String,
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
}

impl KeySettings {
    fn fill(&self, body: &mut Map<String, Value>) {
        if let Some(limit) = &self.limit {
            body.insert("limit".to_owned(), json!(limit));
        }
        if let Some(reset) = self.limit_reset {
            body.insert("limit_reset".to_owned(), json!(reset.as_str()));
        }
        if let Some(expiry) = self.expires_at {
            body.insert("expires_at".to_owned(), json!(expiry));
        }
        if let Some(requests) = self.requests_per_minute {
            body.insert("requests_per_minute".to_owned(), json!(requests));
        }
        if let Some(tokens) = self.tokens_per_minute {
            body.insert("tokens_per_minute".to_owned(), json!(tokens));
        }
        if let Some(policy) = &self.routing_policy {
            body.insert("routing_policy".to_owned(), json!(policy));
        }
        if let Some(team) = &self.team {
            body.insert("team".to_owned(), json!(team));
        }
        let lists = [
            ("allowed_models", &self.allowed_models),
            ("allowed_providers", &self.allowed_providers),
            ("denied_providers", &self.denied_providers),
        ];
        for (field, list) in lists {
            if let Some(list) = list {
                body.insert(field.to_owned(), json!(list));
            }
        }
        if !self.model_budgets.is_empty() {
            let budgets: Map<String, Value> = self.model_budgets.iter().cloned().collect();
            body.insert("model_budgets".to_owned(), Value::Object(budgets));
        }
        if self.require_zdr || self.deny_data_collection {
            let mut data = Map::new();
            if self.require_zdr {
                data.insert("zdr".to_owned(), json!(true));
            }
            if self.deny_data_collection {
                data.insert("data_collection".to_owned(), json!("deny"));
            }
            body.insert("data_policy".to_owned(), Value::Object(data));
        }
        if self.max_prompt_price.is_some() || self.max_completion_price.is_some() {
            body.insert(
                "max_price".to_owned(),
                json!({
                    "prompt": self.max_prompt_price,
                    "completion": self.max_completion_price,
                }),
            );
        }
    }
}

/// Runs a `keys` subcommand; returns the gateway's answer.
pub async fn run_keys(command: KeysCommand) -> anyhow::Result<Value> {
    match command {
        KeysCommand::Create {
            label,
            account,
            settings,
            target,
        } => {
            let mut body = Map::new();
            body.insert("label".to_owned(), json!(label));
            body.insert("account".to_owned(), json!(account));
            settings.fill(&mut body);
            call(&target, reqwest::Method::POST, "/keys", Some(body.into())).await
        }
        KeysCommand::List { target } => call(&target, reqwest::Method::GET, "/keys", None).await,
        KeysCommand::Update {
            id,
            label,
            settings,
            no_limit,
            no_limit_reset,
            no_expiry,
            no_rate_limits,
            no_routing_policy,
            no_team,
            disable,
            enable,
            target,
        } => {
            let mut body = Map::new();
            if let Some(label) = label {
                body.insert("label".to_owned(), json!(label));
            }
            settings.fill(&mut body);
            let cleared = [
                (no_limit, "limit"),
                (no_limit_reset, "limit_reset"),
                (no_expiry, "expires_at"),
                (no_rate_limits, "requests_per_minute"),
                (no_rate_limits, "tokens_per_minute"),
                (no_routing_policy, "routing_policy"),
                (no_team, "team"),
            ];
            for (_, field) in cleared.iter().filter(|(clear, _)| *clear) {
                body.insert((*field).to_owned(), Value::Null);
            }
            if disable || enable {
                body.insert("disabled".to_owned(), json!(disable));
            }
            let path = format!("/keys/{id}");
            call(&target, reqwest::Method::PATCH, &path, Some(body.into())).await
        }
        KeysCommand::Delete { id, target } => {
            call(
                &target,
                reqwest::Method::DELETE,
                &format!("/keys/{id}"),
                None,
            )
            .await
        }
    }
}

/// `switchyard tokens ...`: admin tokens (an owner's token is needed).
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Creates an admin token; its secret is printed this once.
    Create {
        /// `owner`, `operator`, `billing` or `viewer`.
        #[arg(long)]
        role: String,
        /// The only account it sees and changes (billing and viewer tokens).
        #[arg(long)]
        account: Option<String>,
        /// A name for people.
        #[arg(long, default_value = "")]
        label: String,
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Lists the admin tokens (never their secrets).
    List {
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Removes an admin token, on every gateway at once.
    Delete {
        /// Token id (`adm_...`).
        id: String,
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
}

/// Runs a `tokens` subcommand; returns the gateway's answer.
pub async fn run_tokens(command: TokensCommand) -> anyhow::Result<Value> {
    match command {
        TokensCommand::Create {
            role,
            account,
            label,
            target,
        } => {
            let body = json!({ "role": role, "account": account, "label": label });
            call(&target, reqwest::Method::POST, "/tokens", Some(body)).await
        }
        TokensCommand::List { target } => {
            call(&target, reqwest::Method::GET, "/tokens", None).await
        }
        TokensCommand::Delete { id, target } => {
            let path = format!("/tokens/{id}");
            call(&target, reqwest::Method::DELETE, &path, None).await
        }
    }
}

/// Runs a `credits` subcommand; returns the gateway's answer.
pub async fn run_credits(command: CreditsCommand) -> anyhow::Result<Value> {
    match command {
        CreditsCommand::Add {
            account,
            amount,
            target,
        } => {
            let path = format!("/accounts/{account}/credits");
            let body = json!({ "amount": amount });
            call(&target, reqwest::Method::POST, &path, Some(body)).await
        }
    }
}

async fn call(
    target: &AdminTarget,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let url = format!("{}/admin{path}", target.gateway.trim_end_matches('/'));
    let mut request = reqwest::Client::new()
        .request(method, &url)
        .bearer_auth(&target.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("calling {url}"))?;
    let status = response.status();
    let text = response.text().await.context("reading the answer")?;
    if !status.is_success() {
        bail!("refused ({status}): {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("the answer is not JSON: {text}"))
}

/// `switchyard byok ...`: accounts' own provider keys.
#[derive(Debug, Subcommand)]
pub enum ByokCommand {
    /// Stores an account's own key for a provider, read from standard input (never from the
    /// command line, where other users could see it).
    Set {
        /// Account id.
        account: String,
        /// Provider name.
        provider: String,
        /// The operator's credentials may serve when this key is refused.
        #[arg(long)]
        fallback: bool,
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Lists an account's keys (last four characters only).
    List {
        /// Account id.
        account: String,
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Deletes an account's key for a provider.
    Delete {
        /// Account id.
        account: String,
        /// Provider name.
        provider: String,
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Re-seals every stored key under the current operator key (after adding a new one first
    /// in the operator key variable).
    Rotate {
        /// The gateway.
        #[command(flatten)]
        target: AdminTarget,
    },
}

/// Runs a `byok` subcommand; returns the gateway's answer.
pub async fn run_byok(command: ByokCommand) -> anyhow::Result<Value> {
    match command {
        ByokCommand::Set {
            account,
            provider,
            fallback,
            target,
        } => {
            let mut key = String::new();
            std::io::stdin()
                .read_line(&mut key)
                .context("reading the key from standard input")?;
            let key = key.trim();
            if key.is_empty() {
                bail!("no key on standard input");
            }
            let path = format!("/accounts/{account}/keys/{provider}");
            let body = json!({ "key": key, "fallback": fallback });
            call(&target, reqwest::Method::PUT, &path, Some(body)).await
        }
        ByokCommand::List { account, target } => {
            let path = format!("/accounts/{account}/keys");
            call(&target, reqwest::Method::GET, &path, None).await
        }
        ByokCommand::Delete {
            account,
            provider,
            target,
        } => {
            let path = format!("/accounts/{account}/keys/{provider}");
            call(&target, reqwest::Method::DELETE, &path, None).await
        }
        ByokCommand::Rotate { target } => {
            call(&target, reqwest::Method::POST, "/byok/rotate", None).await
        }
    }
}
