//! Gateway configuration: a TOML file, typed, with unknown keys rejected.
//!
//! Credentials never appear in the file: a provider names the environment variable that holds
//! its key. Without a file the gateway runs on [`DEFAULT_CONFIG`].

pub mod builtin_catalog;
pub mod cache;
pub mod credentials;
pub mod presets;
pub mod routing;
pub mod telemetry;
pub mod transforms;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The built-in configuration used when no file is given.
pub const DEFAULT_CONFIG: &str = include_str!("default_config.toml");

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown key or a value of the wrong type.
    #[error("invalid config: {0}")]
    Parse(#[from] toml::de::Error),
    /// The configuration is well-formed but inconsistent.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// HTTP server settings.
    #[serde(default)]
    pub server: ServerConfig,
    /// Plugin loading and sandbox limits.
    #[serde(default)]
    pub plugins: PluginsConfig,
    /// Routing defaults.
    #[serde(default)]
    pub routing: RoutingConfig,
    /// Pricing settings.
    #[serde(default)]
    pub pricing: PricingConfig,
    /// The admin API.
    #[serde(default)]
    pub admin: AdminConfig,
    /// The built-in catalog and partial overrides of its providers.
    #[serde(default)]
    pub catalog: CatalogConfig,
    /// Keys, credits and usage accounting.
    #[serde(default)]
    pub accounting: AccountingConfig,
    /// Prometheus metrics (`GET /metrics`).
    #[serde(default)]
    pub metrics: crate::config::telemetry::MetricsConfig,
    /// OpenTelemetry traces over OTLP (off by default).
    #[serde(default)]
    pub traces: crate::config::telemetry::TracesConfig,
    /// Upstream providers by name; after loading, the built-in catalog's providers merged with
    /// these (a provider defined here replaces the built-in one of the same name).
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Models clients can ask for; after loading, the built-in catalog's models merged with these
    /// (a model defined here replaces the built-in one with the same id).
    #[serde(default)]
    pub models: Vec<ModelConfig>,
    /// Model aliases: an id clients send (e.g. `claude-sonnet-4-5-20250929`) → a model's id.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Presets by name: used as `model: "@preset/<name>"` or `preset: "<name>"`; reloaded
    /// when the file changes.
    #[serde(default)]
    pub presets: BTreeMap<String, crate::config::presets::PresetConfig>,
    /// The response cache.
    #[serde(default)]
    pub cache: crate::config::cache::CacheConfig,
    /// The file this configuration was loaded from (none: the built-in default).
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// Transforms: the ones the operator attaches (globally, or to an account, team or key)
    /// and the ones a request may add.
    #[serde(default)]
    pub transforms: crate::config::transforms::TransformsConfig,
}

/// The built-in catalog (`host/domain/catalog/`) and how this configuration changes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// Load the built-in providers and models. Default: true.
    #[serde(default = "default_true")]
    pub builtin: bool,
    /// Partial overrides of providers by name: only the keys given change.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderOverride>,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            builtin: true,
            providers: BTreeMap::new(),
        }
    }
}

/// Changes to one provider (built-in or defined in `[providers]`); unset keys keep its values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderOverride {
    /// `false` disables the provider: its endpoints are removed from every model.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Replaces the base URL.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Replaces the credential's environment variable.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Replaces the allowed hosts.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
    /// Adapter options, set key by key over the provider's.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Replaces the upstream timeouts.
    #[serde(default)]
    pub timeouts: Option<TimeoutsConfig>,
    /// Replaces the data policy.
    #[serde(default)]
    pub data_collection: Option<DataCollection>,
    /// Replaces the zero-data-retention flag.
    #[serde(default)]
    pub zdr: Option<bool>,
    /// Replaces the published data policy.
    #[serde(default)]
    pub data_policy: Option<DataPolicy>,
    /// Replaces the credential pool.
    #[serde(default)]
    pub credentials: Option<Vec<crate::config::credentials::PooledCredentialConfig>>,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Largest accepted request body, in bytes.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Largest accepted upstream response body (non-streamed), in bytes.
    #[serde(default = "default_max_upstream_body_bytes")]
    pub max_upstream_body_bytes: usize,
    /// Timeout for establishing an upstream connection, in milliseconds.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// While a stream has no first chunk yet, send an SSE comment this often, in milliseconds
    /// (0: never). Once one is sent, a failure ends the stream with an error chunk.
    #[serde(default = "default_keepalive_ms")]
    pub keepalive_ms: u64,
    /// Most client connections open at once; more wait in the listen backlog.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// A client must send a request's headers within this, in milliseconds.
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// A client must send a request's body within this, in milliseconds.
    #[serde(default = "default_body_read_timeout_ms")]
    pub body_read_timeout_ms: u64,
    /// A client connection that moves no bytes for this long is closed, in milliseconds.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// A write to a client that makes no progress for this long (the client stopped reading)
    /// closes the connection, in milliseconds.
    #[serde(default = "default_write_timeout_ms")]
    pub write_timeout_ms: u64,
    /// After a body's first second, a client must keep sending at least this many bytes per
    /// second on average (0: no minimum rate; `body_read_timeout_ms` still applies).
    #[serde(default = "default_body_min_bytes_per_sec")]
    pub body_min_bytes_per_sec: u64,
    /// Most request-body bytes being received across all requests at once; past it, 503.
    #[serde(default = "default_max_body_bytes_in_flight")]
    pub max_body_bytes_in_flight: usize,
    /// Most concurrent streams of one HTTP/2 connection (requests of all connections together
    /// stay within `max_connections`).
    #[serde(default = "default_http2_max_streams")]
    pub http2_max_streams: u32,
    /// Host names (without port) requests may be addressed to; `["*"]` accepts any. Default: on
    /// a loopback `listen`, the loopback names only (a DNS-rebinding defence); elsewhere any.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
    /// Browser origins (e.g. `https://app.example.com`) allowed to call the API, answered with
    /// CORS headers. Default: none (pages of the gateway's own origin only, no CORS).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

fn default_body_min_bytes_per_sec() -> u64 {
    1_024
}
fn default_max_body_bytes_in_flight() -> usize {
    256 * 1024 * 1024
}
fn default_http2_max_streams() -> u32 {
    64
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            max_body_bytes: default_max_body_bytes(),
            max_upstream_body_bytes: default_max_upstream_body_bytes(),
            connect_timeout_ms: default_connect_timeout_ms(),
            keepalive_ms: default_keepalive_ms(),
            max_connections: default_max_connections(),
            header_read_timeout_ms: default_header_read_timeout_ms(),
            body_read_timeout_ms: default_body_read_timeout_ms(),
            idle_timeout_ms: default_idle_timeout_ms(),
            write_timeout_ms: default_write_timeout_ms(),
            body_min_bytes_per_sec: default_body_min_bytes_per_sec(),
            max_body_bytes_in_flight: default_max_body_bytes_in_flight(),
            http2_max_streams: default_http2_max_streams(),
            allowed_hosts: None,
            allowed_origins: Vec::new(),
        }
    }
}

fn default_max_connections() -> usize {
    4_096
}
fn default_header_read_timeout_ms() -> u64 {
    15_000
}
fn default_body_read_timeout_ms() -> u64 {
    60_000
}
fn default_idle_timeout_ms() -> u64 {
    120_000
}
fn default_write_timeout_ms() -> u64 {
    30_000
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_owned()
}
fn default_max_body_bytes() -> usize {
    4 * 1024 * 1024
}
fn default_max_upstream_body_bytes() -> usize {
    32 * 1024 * 1024
}
fn default_connect_timeout_ms() -> u64 {
    5_000
}
fn default_keepalive_ms() -> u64 {
    5_000
}

/// Plugin loading and sandbox limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    /// A folder of extra `.wasm` plugins loaded at start, beside the built-in ones.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Memory limit of one plugin instance, in MiB.
    #[serde(default = "default_memory_limit_mib")]
    pub memory_limit_mib: u64,
    /// Deadline of one call into a plugin, in milliseconds.
    #[serde(default = "default_call_timeout_ms")]
    pub call_timeout_ms: u64,
    /// Most plugin instances alive at once across the gateway (one per in-flight request), and
    /// the default limit of each plugin.
    #[serde(default = "default_max_instances")]
    pub max_instances: u32,
    /// Watch `dir` and install added or changed plugins, remove deleted ones, without a restart.
    #[serde(default = "default_true")]
    pub watch: bool,
    /// How often the folder is scanned, in milliseconds.
    #[serde(default = "default_watch_interval_ms")]
    pub watch_interval_ms: u64,
    /// Where compiled plugins are cached, keyed by content and engine settings. Default:
    /// `$XDG_CACHE_HOME/switchyard` or `~/.cache/switchyard`.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Cache compiled plugins on disk.
    #[serde(default = "default_true")]
    pub cache: bool,
    /// When to stop calling a plugin that keeps faulting.
    #[serde(default)]
    pub circuit_breaker: BreakerConfig,
    /// When to roll back a canary version automatically.
    #[serde(default)]
    pub canary: CanaryConfig,
    /// Limits of individual plugins, by plugin name, overriding the defaults above.
    #[serde(default)]
    pub overrides: BTreeMap<String, PluginOverride>,
    /// Whether plugin instances are kept warm across requests (`warm`, never across accounts)
    /// or made fresh for every request (`per-request`).
    #[serde(default)]
    pub isolation: Isolation,
    /// When a warm instance is retired.
    #[serde(default)]
    pub warm: WarmConfig,
    /// Writes `/tmp/perf-<pid>.map` naming the plugins' compiled functions, so `perf` (and
    /// `switchyard-bench profile`) attribute sandboxed time to guest functions. For profiling
    /// only: the file grows with every plugin version compiled.
    #[serde(default)]
    pub perf_map: bool,
}

/// How instances of a plugin are reused across requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// Instances are reused across requests of the same tenant (account, or the operator when
    /// accounting is off), and retired by the `[plugins.warm]` bounds.
    #[default]
    Warm,
    /// A fresh instance for every request, dropped when it ends.
    PerRequest,
}

/// When a warm plugin instance is retired (besides any trap, timeout or fault, which always
/// retires it).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmConfig {
    /// Most idle instances one plugin version keeps, over all tenants; the least recently
    /// used tenant's go first.
    #[serde(default = "default_warm_idle")]
    pub idle: u32,
    /// Requests one instance serves before it is retired.
    #[serde(default = "default_warm_max_requests")]
    pub max_requests: u32,
    /// Seconds after its creation an instance is retired.
    #[serde(default = "default_warm_max_age_secs")]
    pub max_age_secs: u64,
    /// Growth of an instance's linear memory past its initial size, in MiB, that retires it.
    #[serde(default = "default_warm_max_growth_mib")]
    pub max_growth_mib: u64,
}

impl Default for WarmConfig {
    fn default() -> Self {
        WarmConfig {
            idle: default_warm_idle(),
            max_requests: default_warm_max_requests(),
            max_age_secs: default_warm_max_age_secs(),
            max_growth_mib: default_warm_max_growth_mib(),
        }
    }
}

fn default_warm_idle() -> u32 {
    64
}
fn default_warm_max_requests() -> u32 {
    1_000
}
fn default_warm_max_age_secs() -> u64 {
    60
}
fn default_warm_max_growth_mib() -> u64 {
    16
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            dir: None,
            memory_limit_mib: default_memory_limit_mib(),
            call_timeout_ms: default_call_timeout_ms(),
            max_instances: default_max_instances(),
            watch: true,
            watch_interval_ms: default_watch_interval_ms(),
            cache_dir: None,
            cache: true,
            circuit_breaker: BreakerConfig::default(),
            canary: CanaryConfig::default(),
            overrides: BTreeMap::new(),
            isolation: Isolation::default(),
            warm: WarmConfig::default(),
            perf_map: false,
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_watch_interval_ms() -> u64 {
    1_000
}

/// Limits of one plugin.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginOverride {
    /// Memory limit of one instance, in MiB.
    #[serde(default)]
    pub memory_limit_mib: Option<u64>,
    /// Deadline of one call, in milliseconds.
    #[serde(default)]
    pub call_timeout_ms: Option<u64>,
    /// Most instances of this plugin alive at once.
    #[serde(default)]
    pub max_instances: Option<u32>,
    /// A plugin of this name from the plugins folder or the admin API may replace the built-in
    /// one; otherwise such a plugin is refused.
    #[serde(default)]
    pub replace_builtin: bool,
    /// `per-request` for a plugin the operator does not trust to be reused across requests.
    #[serde(default)]
    pub isolation: Option<Isolation>,
}

/// A circuit breaker: of each plugin version (`plugins.circuit_breaker`) and of each endpoint
/// (`routing.circuit_breaker`).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit (plugin: traps, deadlines, memory; endpoint:
    /// 5xx, 429, timeouts, broken or invalid answers). 0 disables the breaker.
    #[serde(default = "default_breaker_failures")]
    pub failures: u32,
    /// How long an open circuit refuses calls before letting one through, in milliseconds.
    #[serde(default = "default_breaker_cooldown_ms")]
    pub cooldown_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failures: default_breaker_failures(),
            cooldown_ms: default_breaker_cooldown_ms(),
        }
    }
}

fn default_breaker_failures() -> u32 {
    5
}
fn default_breaker_cooldown_ms() -> u64 {
    30_000
}

/// Automatic canary rollback.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryConfig {
    /// Requests a canary must serve before it is judged.
    #[serde(default = "default_canary_min_requests")]
    pub min_requests: u32,
    /// Rolled back when its error rate exceeds the stable version's by more than this (0..1).
    #[serde(default = "default_canary_margin")]
    pub margin: f64,
}

impl Default for CanaryConfig {
    fn default() -> Self {
        CanaryConfig {
            min_requests: default_canary_min_requests(),
            margin: default_canary_margin(),
        }
    }
}

fn default_canary_min_requests() -> u32 {
    20
}
fn default_canary_margin() -> f64 {
    0.1
}

/// The admin API (plugin install, list, remove, rollback).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Environment variable holding the admin token. Without it the admin API is disabled.
    #[serde(default = "default_admin_token_env")]
    pub token_env: String,
    /// Days the audit log keeps an entry; 0 keeps entries for good.
    #[serde(default = "default_audit_retention_days")]
    pub audit_retention_days: u32,
    /// Single sign-on for the dashboard and the admin API (OpenID Connect); off when absent.
    #[serde(default)]
    pub sso: Option<SsoConfig>,
}

/// `[admin.sso]`: an OpenID Connect provider, authorisation code with PKCE.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoConfig {
    /// The provider's issuer URL (its discovery document is `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// The gateway's client id at the provider.
    pub client_id: String,
    /// Environment variable holding the client secret; a public client (PKCE only) without.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// This gateway's callback, as registered at the provider: `https://<gateway>/auth/callback`.
    pub redirect_url: String,
    /// Scopes asked for besides `openid`.
    #[serde(default = "default_sso_scopes")]
    pub scopes: Vec<String>,
    /// The ID token claim mapped to roles (a string or a list of strings), e.g. `groups`.
    #[serde(default = "default_sso_role_claim")]
    pub role_claim: String,
    /// How long the admin token a sign-in issues lasts, in seconds.
    #[serde(default = "default_sso_token_ttl_secs")]
    pub token_ttl_secs: u64,
    /// Where the browser goes after signing in (the token follows in the URL fragment).
    #[serde(default = "default_sso_after_login")]
    pub after_login: String,
    /// Claim values and the role (and account scope) each grants; the first match wins, and a
    /// sign-in matching none is refused.
    #[serde(default)]
    pub roles: Vec<SsoRoleMapping>,
}

/// One `[[admin.sso.roles]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoRoleMapping {
    /// A value of the role claim, e.g. a group name.
    pub value: String,
    /// `owner`, `operator`, `billing` or `viewer`.
    pub role: String,
    /// The only account it sees and changes (billing and viewer only).
    #[serde(default)]
    pub account: Option<String>,
}

fn default_sso_scopes() -> Vec<String> {
    vec!["email".to_owned(), "profile".to_owned()]
}
fn default_sso_role_claim() -> String {
    "groups".to_owned()
}
fn default_sso_token_ttl_secs() -> u64 {
    900
}
fn default_sso_after_login() -> String {
    "/dashboard".to_owned()
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            token_env: default_admin_token_env(),
            audit_retention_days: default_audit_retention_days(),
            sso: None,
        }
    }
}

fn default_audit_retention_days() -> u32 {
    365
}

fn default_admin_token_env() -> String {
    "SWITCHYARD_ADMIN_TOKEN".to_owned()
}

fn default_memory_limit_mib() -> u64 {
    64
}
fn default_call_timeout_ms() -> u64 {
    1_000
}
fn default_max_instances() -> u32 {
    1_000
}

/// Routing defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// The routing policy plugin used for models that do not name one.
    #[serde(default = "default_policy")]
    pub default_policy: String,
    /// The policy plugins that requests' `provider.sort` (and the `:floor`/`:nitro` variants)
    /// select.
    #[serde(default)]
    pub sort: SortPolicies,
    /// The circuit breaker of each endpoint.
    #[serde(default)]
    pub circuit_breaker: BreakerConfig,
    /// Live endpoint statistics shared with other gateways through Redis.
    #[serde(default)]
    pub shared_stats: SharedStatsConfig,
    /// Sticky routing: a conversation keeps the endpoint of its previous turn.
    #[serde(default)]
    pub sticky: crate::config::routing::StickyConfig,
    /// Shadow policies (`[[routing.shadow]]`): evaluated beside the live policy, never obeyed.
    #[serde(default)]
    pub shadow: Vec<crate::config::routing::ShadowConfig>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            default_policy: default_policy(),
            sort: SortPolicies::default(),
            circuit_breaker: BreakerConfig::default(),
            shared_stats: SharedStatsConfig::default(),
            sticky: crate::config::routing::StickyConfig::default(),
            shadow: Vec::new(),
        }
    }
}

/// Sharing live endpoint statistics with the other gateways using one Redis.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedStatsConfig {
    /// The Redis URL; when unset, `accounting.redis_url` (if set) is used. Without either the
    /// statistics stay in each gateway.
    #[serde(default)]
    pub redis_url: Option<String>,
    /// How often each gateway publishes its figures and reads the others', in ms.
    #[serde(default = "default_shared_stats_interval_ms")]
    pub interval_ms: u64,
    /// The prefix of the Redis keys: gateways share figures with those using the same prefix.
    #[serde(default = "default_shared_stats_key_prefix")]
    pub key_prefix: String,
}

impl Default for SharedStatsConfig {
    fn default() -> Self {
        SharedStatsConfig {
            redis_url: None,
            interval_ms: default_shared_stats_interval_ms(),
            key_prefix: default_shared_stats_key_prefix(),
        }
    }
}

fn default_shared_stats_interval_ms() -> u64 {
    1_000
}
fn default_shared_stats_key_prefix() -> String {
    "switchyard:stats".to_owned()
}

fn default_policy() -> String {
    "price".to_owned()
}

/// Which policy plugin serves each `provider.sort` value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortPolicies {
    /// `sort: "price"` and `:floor`: cheapest first.
    #[serde(default = "default_price_sort")]
    pub price: String,
    /// `sort: "throughput"` and `:nitro`: fastest output first.
    #[serde(default = "default_throughput_sort")]
    pub throughput: String,
    /// `sort: "latency"`: quickest first token first.
    #[serde(default = "default_latency_sort")]
    pub latency: String,
}

impl Default for SortPolicies {
    fn default() -> Self {
        SortPolicies {
            price: default_price_sort(),
            throughput: default_throughput_sort(),
            latency: default_latency_sort(),
        }
    }
}

fn default_price_sort() -> String {
    "cheapest".to_owned()
}
fn default_throughput_sort() -> String {
    "throughput".to_owned()
}
fn default_latency_sort() -> String {
    "latency".to_owned()
}

/// Pricing settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    /// Platform fee added to every call's upstream cost, in percent.
    #[serde(default = "default_platform_fee_percent")]
    pub platform_fee_percent: Decimal,
}

impl Default for PricingConfig {
    fn default() -> Self {
        PricingConfig {
            platform_fee_percent: default_platform_fee_percent(),
        }
    }
}

fn default_platform_fee_percent() -> Decimal {
    Decimal::new(5, 0)
}

/// Keys, credits and usage accounting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountingConfig {
    /// Require an API key on every request, hold its worst-case cost before calling upstream
    /// and charge its account after. Off by default.
    #[serde(default)]
    pub enabled: bool,
    /// The SQLite database file (created when missing), used unless `postgres_url` is set.
    #[serde(default = "default_sqlite_path")]
    pub sqlite_path: PathBuf,
    /// A PostgreSQL connection URL (`postgres://user:password@host/db`); several gateways may
    /// share one database and its limits.
    #[serde(default)]
    pub postgres_url: Option<String>,
    /// A Redis URL (`redis://127.0.0.1:6379`): per-key rate limits are kept there, shared by
    /// every gateway using it, instead of in each gateway's memory.
    #[serde(default)]
    pub redis_url: Option<String>,
    /// The longest a request waits for Redis to connect or to answer about its rate limits, in
    /// ms; then it is let through (the limits are not applied, and the failure is logged).
    #[serde(default = "default_redis_timeout_ms")]
    pub redis_timeout_ms: u64,
    /// Most connections to PostgreSQL.
    #[serde(default = "default_accounting_connections")]
    pub max_connections: u32,
    /// A reservation older than this (seconds) belongs to a gateway that stopped, and is
    /// released.
    #[serde(default = "default_reservation_timeout_secs")]
    pub reservation_timeout_secs: u64,
    /// Where settlements the database has not stored yet are kept on disk until it does.
    /// Default: the SQLite file's path with `-spool` appended, or `switchyard-spool.jsonl` in
    /// the working directory with PostgreSQL (give each gateway its own).
    #[serde(default)]
    pub spool_path: Option<PathBuf>,
    /// Settlements waiting for the database from which new requests are refused (503) until
    /// the database stores them.
    #[serde(default = "default_spool_limit")]
    pub spool_limit: usize,
    /// What a failed attempt the upstream accepted costs the client (see
    /// [`AcceptedFailureCharge`]).
    #[serde(default)]
    pub charge_accepted_failures: AcceptedFailureCharge,
    /// Accounts' own provider keys (BYOK): the operator key sealing them and the fee.
    #[serde(default)]
    pub byok: crate::config::credentials::ByokConfig,
}

/// What a failed attempt costs the client when the upstream accepted it: it sent success
/// headers, or it was sent the whole request and then timed out or was cut. The upstream bills
/// such an attempt. A refusal (429, 401, 403, any 5xx or other error status) is never charged,
/// nor a failure of the adapter plugin itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceptedFailureCharge {
    /// The attempt's estimated prompt (four bytes of the request a token) at the endpoint's
    /// prices.
    #[default]
    Prompt,
    /// Nothing: the operator pays for such attempts.
    None,
}

impl AccountingConfig {
    /// The spool file of settlements waiting for the database ([`AccountingConfig::spool_path`]).
    pub fn spool_file(&self) -> PathBuf {
        match (&self.spool_path, &self.postgres_url) {
            (Some(path), _) => path.clone(),
            (None, Some(_)) => PathBuf::from("switchyard-spool.jsonl"),
            (None, None) => {
                let mut path = self.sqlite_path.clone().into_os_string();
                path.push("-spool");
                PathBuf::from(path)
            }
        }
    }
}

impl Default for AccountingConfig {
    fn default() -> Self {
        AccountingConfig {
            enabled: false,
            sqlite_path: default_sqlite_path(),
            postgres_url: None,
            redis_url: None,
            redis_timeout_ms: default_redis_timeout_ms(),
            max_connections: default_accounting_connections(),
            reservation_timeout_secs: default_reservation_timeout_secs(),
            spool_path: None,
            spool_limit: default_spool_limit(),
            charge_accepted_failures: AcceptedFailureCharge::default(),
            byok: crate::config::credentials::ByokConfig::default(),
        }
    }
}

fn default_sqlite_path() -> PathBuf {
    PathBuf::from("switchyard.db")
}
fn default_accounting_connections() -> u32 {
    16
}
fn default_redis_timeout_ms() -> u64 {
    500
}
fn default_reservation_timeout_secs() -> u64 {
    3_600
}
fn default_spool_limit() -> usize {
    20_000
}

/// One upstream provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Name of the adapter plugin, e.g. `openai`.
    pub plugin: String,
    /// Base URL of the provider's API, e.g. `https://api.openai.com/v1`. A provider with neither
    /// this nor a set `base_url_env` variable is disabled (local servers, Azure resources).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Environment variable whose value, when set and not empty, replaces `base_url`.
    #[serde(default)]
    pub base_url_env: Option<String>,
    /// `false` disables the provider: its endpoints are removed from every model.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Environment variable holding the credential. Without it the provider needs none; when it
    /// is set but the variable is empty or missing, the provider is disabled.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The only hosts requests may go to (patterns like `*.openai.azure.com`), on the base URL's
    /// port for its host and on the scheme's default port for others. Default: the base URL's
    /// origin only. The adapter's declared hosts narrow this list.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
    /// Where the credential goes. Default: where the adapter asks on its first request, fixed
    /// from then on.
    #[serde(default)]
    pub credential: Option<CredentialConfig>,
    /// Adapter-specific options passed to the plugin.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Upstream timeouts.
    #[serde(default)]
    pub timeouts: TimeoutsConfig,
    /// Whether the provider may train on prompts (`allow`) or not (`deny`); requests with
    /// `provider.data_collection = "deny"` skip providers that allow it. Default: from
    /// `data_policy` (`deny` when it does not train), else `allow`, the safe assumption when a
    /// provider's policy is unknown.
    #[serde(default)]
    pub data_collection: Option<DataCollection>,
    /// The provider's published data policy (built in for the catalog's providers, from
    /// `host/domain/catalog/data_policies.toml`), listed at `/api/v1/providers`.
    #[serde(default)]
    pub data_policy: Option<DataPolicy>,
    /// The provider retains nothing (zero data retention); requests with `provider.zdr = true`
    /// use only such providers.
    #[serde(default)]
    pub zdr: bool,
    /// AWS credentials, for adapters whose requests the host signs with AWS Signature Version 4
    /// (`bedrock`). Without them such a provider is disabled.
    #[serde(default)]
    pub aws_credentials: Option<AwsCredentialsConfig>,
    /// Google OAuth credentials the host mints access tokens from (`vertex`): a service account
    /// key, `GOOGLE_APPLICATION_CREDENTIALS` or the metadata server. Exclusive with `api_key_env`.
    #[serde(default)]
    pub google_credentials: Option<GoogleCredentialsConfig>,
    /// A pool of credentials (`[[providers.<name>.credentials]]`: name, api_key_env, weight,
    /// base_url), chosen by weight, a refused one skipped for a cool-down; replaces
    /// `api_key_env`.
    #[serde(default)]
    pub credentials: Vec<crate::config::credentials::PooledCredentialConfig>,
    /// When a pooled credential answering 429 or 401 is skipped and for how long. Default: at
    /// the first such answer, for 60 s.
    #[serde(default = "crate::config::credentials::default_breaker")]
    pub credential_breaker: BreakerConfig,
    /// A folder of recorded upstream answers: a new version of this provider's adapter must pass
    /// the conformance kit on them before it takes traffic (see `plugins::gate`).
    #[serde(default)]
    pub replay_gate: Option<std::path::PathBuf>,
    /// The Responses API built-in tools (other than web search) clients may use through this
    /// provider, e.g. `["code_interpreter", "file_search"]`: they run on the operator's upstream
    /// account (its vector stores, files, containers, the MCP credentials a tool carries), so
    /// none is passed unless listed. Only an adapter that speaks the Responses API upstream
    /// (`openai-responses`) serves them; each endpoint prices their calls
    /// (`builtin_tool_prices`).
    #[serde(default)]
    pub builtin_tools: Vec<switchyard_sdk::responses::BuiltinTool>,
}

/// Where the host puts a provider's credential: `"bearer"`, `"none"`, `{ header = "api-key" }`
/// or `{ query = "key" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialConfig {
    /// `Authorization: Bearer <credential>`.
    Bearer,
    /// Nowhere.
    None,
    /// A header of this name.
    Header(String),
    /// A query parameter of this name.
    Query(String),
}

impl CredentialConfig {
    /// The placement the host applies.
    pub fn placement(&self) -> crate::plugin_types::CredentialPlacement {
        use crate::plugin_types::CredentialPlacement;
        match self {
            CredentialConfig::Bearer => CredentialPlacement::Bearer,
            CredentialConfig::None => CredentialPlacement::None,
            CredentialConfig::Header(name) => CredentialPlacement::Header(name.clone()),
            CredentialConfig::Query(name) => CredentialPlacement::Query(name.clone()),
        }
    }
}

/// The environment variables holding a provider's AWS credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsCredentialsConfig {
    /// Variable holding the access key id, e.g. `AWS_ACCESS_KEY_ID`.
    pub access_key_id_env: String,
    /// Variable holding the secret access key, e.g. `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key_env: String,
    /// Variable holding the session token of temporary credentials, e.g. `AWS_SESSION_TOKEN`;
    /// unset or empty means long-term credentials.
    #[serde(default)]
    pub session_token_env: Option<String>,
}

/// Where a provider's Google access tokens come from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleCredentialsConfig {
    /// `application-default` (default): `file`, else the key file `GOOGLE_APPLICATION_CREDENTIALS`
    /// names, else the metadata server; `service-account`: `file`; `metadata`: the metadata
    /// server (workload identity).
    #[serde(default)]
    pub source: GoogleCredentialSource,
    /// A service account JSON key file.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// OAuth scopes. Default: `https://www.googleapis.com/auth/cloud-platform`.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

impl GoogleCredentialsConfig {
    /// The scopes asked for, space-separated.
    pub fn scope(&self) -> String {
        match &self.scopes {
            Some(scopes) if !scopes.is_empty() => scopes.join(" "),
            _ => crate::config::credentials::CLOUD_PLATFORM_SCOPE.to_owned(),
        }
    }
}

/// The kinds of Google credential sources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoogleCredentialSource {
    /// Application Default Credentials: a key file if one is named, else the metadata server.
    #[default]
    ApplicationDefault,
    /// A service account key file.
    ServiceAccount,
    /// The metadata server.
    Metadata,
}

/// A provider's published data policy, in OpenRouter's terms.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataPolicy {
    /// Prompts may train the provider's models.
    pub training: bool,
    /// Prompts or completions are kept (abuse monitoring, logs).
    pub retains_prompts: bool,
    /// For how long, when known.
    #[serde(default)]
    pub prompt_retention_days: Option<u32>,
    /// Zero data retention can be arranged with the provider (never makes an endpoint ZDR: only
    /// the operator's `zdr = true` does).
    #[serde(default)]
    pub zdr_available: bool,
    /// Where the policy is published.
    #[serde(default)]
    pub source: Option<String>,
}

impl DataPolicy {
    /// What a provider with this policy (or none) means for `data_collection`: `deny` when it
    /// does not train on prompts, `allow` when it does or its policy is unknown.
    pub fn data_collection(policy: Option<&DataPolicy>) -> DataCollection {
        match policy {
            Some(policy) if !policy.training => DataCollection::Deny,
            _ => DataCollection::Allow,
        }
    }
}

/// A provider's data policy, or a request's demand on it (OpenRouter's `data_collection`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataCollection {
    /// Prompts may be stored or used for training.
    #[default]
    Allow,
    /// Prompts are neither stored nor used for training.
    Deny,
}

/// Upstream timeouts of one provider, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsConfig {
    /// Until the response headers arrive.
    #[serde(default = "default_first_byte_ms")]
    pub first_byte_ms: u64,
    /// Longest silence between two pieces of a streamed body.
    #[serde(default = "default_idle_ms")]
    pub idle_ms: u64,
    /// The whole attempt, body included.
    #[serde(default = "default_total_ms")]
    pub total_ms: u64,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        TimeoutsConfig {
            first_byte_ms: default_first_byte_ms(),
            idle_ms: default_idle_ms(),
            total_ms: default_total_ms(),
        }
    }
}

fn default_first_byte_ms() -> u64 {
    60_000
}
fn default_idle_ms() -> u64 {
    60_000
}
fn default_total_ms() -> u64 {
    600_000
}

/// The `output_modalities` entry that marks an embedding model.
pub const EMBEDDINGS_MODALITY: &str = "embeddings";
/// The `output_modalities` entry of a model that writes text.
pub const TEXT_MODALITY: &str = "text";

/// One model clients can ask for. The built-in catalog's `models.json` holds the same shape.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Canonical id, e.g. `openai/gpt-4o-mini`.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One-paragraph description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Context window in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
    /// What the model reads: `text`, `image`, `file`, `audio`, `video`. Default: `["text"]`.
    #[serde(default = "text_only")]
    pub input_modalities: Vec<String>,
    /// What the model writes: `text`, `image`, `audio`. Default: `["text"]`.
    #[serde(default = "text_only")]
    pub output_modalities: Vec<String>,
    /// Request parameters the model honours (OpenRouter's `supported_parameters`), e.g. `tools`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_parameters: Vec<String>,
    /// Routing policy for this model; default: `routing.default_policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Endpoints serving the model.
    pub endpoints: Vec<EndpointConfig>,
}

fn text_only() -> Vec<String> {
    vec!["text".to_owned()]
}

/// One provider endpoint serving a model.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Provider name (a key of `providers`).
    pub provider: String,
    /// The model id the provider expects.
    pub upstream_model: String,
    /// USD per million prompt tokens.
    #[serde(default)]
    pub prompt_price: Decimal,
    /// USD per million completion tokens.
    #[serde(default)]
    pub completion_price: Decimal,
    /// USD per million cached prompt tokens read; default: the prompt price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_price: Option<Decimal>,
    /// USD per million prompt tokens written to the cache; default: the prompt price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_price: Option<Decimal>,
    /// USD per million reasoning tokens; default: the completion price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_price: Option<Decimal>,
    /// USD per request, whatever its size.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub request_price: Decimal,
    /// USD per input image.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub image_price: Decimal,
    /// USD per web search the upstream's own engine makes (`:online`, `plugins: [{"id":
    /// "web"}]`, `web_search_options`); unset: the endpoint serves no search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_price: Option<Decimal>,
    /// USD per call of each Responses API built-in tool its provider is opted into
    /// (`builtin_tools`), e.g. `{ code_interpreter = "0.03" }`; a tool without a price is not
    /// served here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub builtin_tool_prices: BTreeMap<switchyard_sdk::responses::BuiltinTool, Decimal>,
    /// Longest completion the endpoint produces, in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Weight precision the endpoint serves, e.g. `fp8`, `bf16` (OpenRouter's `quantizations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<String>,
    /// Relative share of traffic for policies that split load by weight (`weighted`).
    #[serde(default = "default_weight", skip_serializing_if = "is_default_weight")]
    pub weight: f64,
}

fn default_weight() -> f64 {
    1.0
}

fn is_default_weight(weight: &f64) -> bool {
    *weight == default_weight()
}

impl Config {
    /// Loads the file at `path`, or the built-in default when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let text = match path {
            Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?,
            None => DEFAULT_CONFIG.to_owned(),
        };
        let mut config = Config::parse(&text)?;
        config.source = path.map(Path::to_owned);
        Ok(config)
    }

    /// Parses a configuration, merges it over the built-in catalog and checks the result.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text)?;
        builtin_catalog::merge(&mut config)?;
        config.check()?;
        Ok(config)
    }

    /// Checks what serde cannot: references between sections and value ranges.
    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        if self.pricing.platform_fee_percent < Decimal::ZERO {
            // A negative fee makes every cost negative: settlements would mint credits.
            return invalid("pricing.platform_fee_percent must not be negative".into());
        }
        let server = &self.server;
        let server_limits = [
            server.header_read_timeout_ms,
            server.body_read_timeout_ms,
            server.idle_timeout_ms,
            server.write_timeout_ms,
        ];
        if server_limits.contains(&0)
            || server.max_connections == 0
            || server.max_body_bytes_in_flight == 0
            || server.http2_max_streams == 0
        {
            return invalid(
                "server timeouts, max_connections, max_body_bytes_in_flight and http2_max_streams \
                 must be positive"
                    .into(),
            );
        }
        if self.plugins.call_timeout_ms == 0 || self.plugins.memory_limit_mib == 0 {
            return invalid(
                "plugins.call_timeout_ms and plugins.memory_limit_mib must be positive".into(),
            );
        }
        if self.accounting.redis_timeout_ms == 0 {
            return invalid("accounting.redis_timeout_ms must be positive".into());
        }
        if let Some(problem) = self.cache.problem() {
            return invalid(problem);
        }
        let shared_stats = &self.routing.shared_stats;
        if shared_stats.interval_ms == 0 {
            return invalid("routing.shared_stats.interval_ms must be positive".into());
        }
        if let Some(url) = &shared_stats.redis_url
            && redis::IntoConnectionInfo::into_connection_info(url.as_str()).is_err()
        {
            // The URL may hold a password: it is not repeated.
            return invalid("routing.shared_stats.redis_url is not a Redis URL".into());
        }
        for (name, provider) in &self.providers {
            if let Some(base_url) = &provider.base_url
                && reqwest::Url::parse(base_url).is_err()
            {
                return invalid(format!(
                    "provider {name}: base_url {base_url:?} is not a URL"
                ));
            }
            if provider.base_url.is_none() && provider.base_url_env.is_none() {
                return invalid(format!("provider {name}: needs base_url or base_url_env"));
            }
        }
        for (name, preset) in &self.presets {
            preset.check(name).map_err(ConfigError::Invalid)?;
        }
        for (alias, target) in &self.aliases {
            if !self.models.iter().any(|model| model.id == *target) {
                return invalid(format!("aliases: {alias} names no model ({target})"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for model in &self.models {
            if !seen.insert(model.id.as_str()) {
                return invalid(format!("model {} is defined twice", model.id));
            }
            if model.endpoints.is_empty() {
                return invalid(format!("model {} has no endpoints", model.id));
            }
            for endpoint in &model.endpoints {
                if !self.providers.contains_key(&endpoint.provider) {
                    return invalid(format!(
                        "model {}: endpoint provider {} is not defined in [providers]",
                        model.id, endpoint.provider
                    ));
                }
                let prices = [
                    Some(endpoint.prompt_price),
                    Some(endpoint.completion_price),
                    endpoint.cache_read_price,
                    endpoint.cache_write_price,
                    endpoint.reasoning_price,
                    Some(endpoint.request_price),
                    Some(endpoint.image_price),
                ];
                if prices
                    .into_iter()
                    .flatten()
                    .any(|price| price.is_sign_negative())
                {
                    return invalid(format!("model {}: prices cannot be negative", model.id));
                }
                if !(endpoint.weight.is_finite() && endpoint.weight >= 0.0) {
                    return invalid(format!(
                        "model {}: endpoint weight must be a finite number of at least 0",
                        model.id
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_parses() {
        let config = Config::parse(DEFAULT_CONFIG).expect("default config");
        assert!(!config.models.is_empty());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let error = Config::parse("[server]\nlisten = \"x\"\nlisen = 1\n").expect_err("typo");
        assert!(error.to_string().contains("lisen"), "{error}");
    }

    #[test]
    fn an_endpoint_on_an_undefined_provider_is_rejected() {
        let text = r#"
            [[models]]
            id = "a/b"
            endpoints = [{ provider = "nope", upstream_model = "b" }]
        "#;
        let error = Config::parse(text).expect_err("undefined provider");
        assert!(error.to_string().contains("nope"), "{error}");
    }

    #[test]
    fn shared_stats_need_a_redis_url_and_a_positive_interval() {
        let parse = |section: &str| Config::parse(&format!("[routing.shared_stats]\n{section}"));
        let error = parse("redis_url = \"not a url\"").expect_err("bad URL");
        assert!(error.to_string().contains("redis_url"), "{error}");
        let error = parse("interval_ms = 0").expect_err("zero interval");
        assert!(error.to_string().contains("interval_ms"), "{error}");
        let config = parse("redis_url = \"redis://127.0.0.1:6379\"").expect("valid");
        assert_eq!(config.routing.shared_stats.interval_ms, 1_000);
    }

    #[test]
    fn the_redis_wait_of_rate_limits_is_positive() {
        let config = Config::parse("[accounting]\nredis_timeout_ms = 2000\n").expect("valid");
        assert_eq!(config.accounting.redis_timeout_ms, 2_000);
        assert_eq!(AccountingConfig::default().redis_timeout_ms, 500);
        let error = Config::parse("[accounting]\nredis_timeout_ms = 0\n").expect_err("zero");
        assert!(error.to_string().contains("redis_timeout_ms"), "{error}");
    }

    #[test]
    fn shadow_entries_refuse_unknown_keys() {
        let config = Config::parse("[[routing.shadow]]\npolicy = \"latency\"\n").expect("valid");
        assert_eq!(config.routing.shadow.len(), 1);
        assert_eq!(config.routing.shadow[0].models, None);
        let error = Config::parse("[[routing.shadow]]\npolicy = \"latency\"\nmodel = [\"a/b\"]\n")
            .expect_err("typo");
        assert!(error.to_string().contains("model"), "{error}");
    }

    #[test]
    fn negative_prices_are_rejected() {
        let text = r#"
            [providers.p]
            plugin = "openai"
            base_url = "http://localhost:1/v1"
            [[models]]
            id = "a/b"
            endpoints = [{ provider = "p", upstream_model = "b", prompt_price = "-1" }]
        "#;
        assert!(Config::parse(text).is_err());
    }

    #[test]
    fn a_negative_platform_fee_is_rejected() {
        let parse = |fee: &str| Config::parse(&format!("[pricing]\nplatform_fee_percent = {fee}"));
        let error = parse("\"-5\"").expect_err("negative fee");
        assert!(
            error.to_string().contains("platform_fee_percent"),
            "{error}"
        );
        assert!(parse("\"0\"").is_ok());
    }
}
