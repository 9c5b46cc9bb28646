//! Google OAuth access tokens: from a service account key (an RS256-signed JWT exchanged at the
//! key's `token_uri`, RFC 7523) or from the metadata server (workload identity, GCE, GKE, Cloud
//! Run). `application-default` picks the key file named by `GOOGLE_APPLICATION_CREDENTIALS`, else
//! the metadata server, whose host `GCE_METADATA_HOST` may change as in Google's own libraries.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::credentials::prepared::PreparedCredential;
use switchyard_domain::config::credentials::CLOUD_PLATFORM_SCOPE;
use switchyard_domain::config::{GoogleCredentialSource, GoogleCredentialsConfig};

/// Google's token endpoint, for keys that name none.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The metadata server's host when `GCE_METADATA_HOST` is unset.
const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";

/// Lifetime asked of a service account assertion (Google's maximum).
const ASSERTION_LIFETIME: Duration = Duration::from_secs(3600);

/// A token is refreshed this long before it expires at most (a quarter of its life at least).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A token this close to expiry is never sent: the caller waits for a fresh one.
const EXPIRY_SLACK: Duration = Duration::from_secs(10);

/// Why a token source cannot be prepared (stops the start) or a token cannot be obtained.
#[derive(Debug, thiserror::Error)]
pub enum GoogleCredentialError {
    /// The service account key file cannot be read.
    #[error("cannot read the service account file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The service account key file is not a usable key; names the field.
    #[error("service account file {path}: {problem}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        problem: String,
    },
    /// The token endpoint or the metadata server could not be reached or refused.
    #[error("{0}")]
    Fetch(String),
}

/// One access token.
pub struct GoogleToken {
    prepared: PreparedCredential,
    secret: String,
    expires_at: Instant,
    refresh_at: Instant,
}

impl GoogleToken {
    /// The token itself (to put where the adapter asked).
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The token as header values (`Bearer <token>` and the bare token), marked sensitive and
    /// built once when it was minted.
    pub fn prepared(&self) -> &PreparedCredential {
        &self.prepared
    }
}

impl std::fmt::Debug for GoogleToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Where tokens come from.
enum Origin {
    /// A service account key: JWTs signed with its private key.
    ServiceAccount {
        email: String,
        key_id: Option<String>,
        key: Box<EncodingKey>,
        token_uri: String,
    },
    /// The metadata server's token URL.
    Metadata { url: String },
}

/// The cached token of one provider's Google credential, refreshed by one request at a time.
pub struct GoogleTokenSource {
    origin: Origin,
    scope: String,
    client: reqwest::Client,
    current: ArcSwapOption<GoogleToken>,
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for GoogleTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = match &self.origin {
            Origin::ServiceAccount { email, .. } => format!("service account {email}"),
            Origin::Metadata { url } => format!("metadata server {url}"),
        };
        f.debug_struct("GoogleTokenSource")
            .field("origin", &origin)
            .finish_non_exhaustive()
    }
}

/// The fields of a service account key file the host uses.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

/// The claims of a service account assertion.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

/// A token endpoint's or metadata server's answer.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

impl GoogleTokenSource {
    /// Prepares the source `config` names: reads and checks the key file (a malformed one is an
    /// error naming the field) or settles the metadata server's URL. Fetches no token.
    pub fn new(
        config: &GoogleCredentialsConfig,
    ) -> Result<GoogleTokenSource, GoogleCredentialError> {
        let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let origin = match config.source {
            GoogleCredentialSource::ServiceAccount => {
                let path = config
                    .file
                    .clone()
                    .ok_or_else(|| GoogleCredentialError::Malformed {
                        path: PathBuf::new(),
                        problem: "`source = \"service-account\"` needs `file`".to_owned(),
                    })?;
                service_account(&path)?
            }
            GoogleCredentialSource::Metadata => metadata(env("GCE_METADATA_HOST"), &config.scope()),
            GoogleCredentialSource::ApplicationDefault => {
                match config
                    .file
                    .clone()
                    .or_else(|| env("GOOGLE_APPLICATION_CREDENTIALS").map(PathBuf::from))
                {
                    Some(path) => service_account(&path)?,
                    None => metadata(env("GCE_METADATA_HOST"), &config.scope()),
                }
            }
        };
        Ok(GoogleTokenSource {
            origin,
            scope: config.scope(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|error| GoogleCredentialError::Fetch(error.to_string()))?,
            current: ArcSwapOption::empty(),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    /// A token valid for a while: the cached one, or a fresh one once it is due for refresh
    /// (fetched by one caller; the others keep using the cached token while it is still valid,
    /// or wait for the fresh one).
    pub async fn token(&self) -> Result<Arc<GoogleToken>, GoogleCredentialError> {
        let now = Instant::now();
        let cached = self.current.load_full();
        if let Some(token) = &cached
            && now < token.refresh_at
        {
            return Ok(token.clone());
        }
        let usable = cached.filter(|token| now + EXPIRY_SLACK < token.expires_at);
        let _guard = match (self.refreshing.try_lock(), usable) {
            (Ok(guard), _) => guard,
            // Someone else refreshes: the current token still serves.
            (Err(_), Some(token)) => return Ok(token),
            (Err(_), None) => self.refreshing.lock().await,
        };
        // The refresh that held the lock may have stored a fresh token.
        if let Some(token) = self.current.load_full()
            && Instant::now() < token.refresh_at
        {
            return Ok(token);
        }
        let token = Arc::new(self.fetch().await?);
        self.current.store(Some(token.clone()));
        Ok(token)
    }

    /// Drops `token` from the cache (the upstream refused it), unless a newer one replaced it.
    pub fn forget(&self, token: &Arc<GoogleToken>) {
        self.current.rcu(|current| match current {
            Some(cached) if Arc::ptr_eq(cached, token) => None,
            other => other.clone(),
        });
    }

    async fn fetch(&self) -> Result<GoogleToken, GoogleCredentialError> {
        let fetch = |error: String| GoogleCredentialError::Fetch(error);
        let request = match &self.origin {
            Origin::ServiceAccount {
                email,
                key_id,
                key,
                token_uri,
            } => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs();
                let claims = Claims {
                    iss: email,
                    scope: &self.scope,
                    aud: token_uri,
                    iat: now,
                    exp: now + ASSERTION_LIFETIME.as_secs(),
                };
                let mut header = Header::new(Algorithm::RS256);
                header.kid = key_id.clone();
                let assertion = jsonwebtoken::encode(&header, &claims, key)
                    .map_err(|error| fetch(format!("cannot sign the assertion: {error}")))?;
                self.client.post(token_uri).form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", assertion.as_str()),
                ])
            }
            Origin::Metadata { url } => self.client.get(url).header("Metadata-Flavor", "Google"),
        };
        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|error| fetch(format!("token request failed: {}", without_url(&error))))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| fetch(format!("token answer unreadable: {}", without_url(&error))))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let text: String = text.chars().take(300).collect();
            return Err(fetch(format!(
                "the token endpoint answered {status}: {text}"
            )));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|error| fetch(format!("malformed token answer: {error}")))?;
        if HeaderValue::try_from(answer.access_token.as_str()).is_err() {
            return Err(fetch(
                "the access token is not a valid header value".to_owned(),
            ));
        }
        let prepared = PreparedCredential::of(Some(&answer.access_token));
        let lifetime = Duration::from_secs(answer.expires_in);
        let margin = REFRESH_MARGIN.min(lifetime / 4);
        tracing::debug!(lifetime_s = answer.expires_in, "new Google access token");
        Ok(GoogleToken {
            prepared,
            secret: answer.access_token,
            expires_at: started + lifetime,
            refresh_at: started + lifetime - margin,
        })
    }
}

/// Reads a service account key file, naming the field that is missing or wrong.
fn service_account(path: &Path) -> Result<Origin, GoogleCredentialError> {
    let malformed = |problem: String| GoogleCredentialError::Malformed {
        path: path.to_owned(),
        problem,
    };
    let text = std::fs::read(path).map_err(|source| GoogleCredentialError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file: KeyFile = serde_json::from_slice(&text)
        .map_err(|error| malformed(format!("not a JSON key file: {error}")))?;
    match file.kind.as_deref() {
        Some("service_account") => {}
        Some(other) => {
            return Err(malformed(format!(
                "field `type` is {other:?}; only \"service_account\" keys are supported"
            )));
        }
        None => return Err(malformed("field `type` is missing".to_owned())),
    }
    let email = file
        .client_email
        .filter(|email| email.contains('@'))
        .ok_or_else(|| malformed("field `client_email` is missing or not an email".to_owned()))?;
    let pem = file
        .private_key
        .ok_or_else(|| malformed("field `private_key` is missing".to_owned()))?;
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|error| {
        malformed(format!(
            "field `private_key` is not an RSA private key in PEM: {error}"
        ))
    })?;
    let token_uri = file
        .token_uri
        .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned());
    if reqwest::Url::parse(&token_uri).is_err() {
        return Err(malformed(format!(
            "field `token_uri` {token_uri:?} is not a URL"
        )));
    }
    Ok(Origin::ServiceAccount {
        email,
        key_id: file.private_key_id,
        key: Box::new(key),
        token_uri,
    })
}

/// The metadata server's token URL for the default service account.
fn metadata(host: Option<String>, scope: &str) -> Origin {
    let host = host.unwrap_or_else(|| DEFAULT_METADATA_HOST.to_owned());
    let base = if host.contains("://") {
        host
    } else {
        format!("http://{host}")
    };
    let mut url = format!(
        "{}/computeMetadata/v1/instance/service-accounts/default/token",
        base.trim_end_matches('/')
    );
    if scope != CLOUD_PLATFORM_SCOPE {
        url.push_str("?scopes=");
        url.push_str(scope);
    }
    Origin::Metadata { url }
}

/// A reqwest error's message without its URL.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<token endpoint>");
    }
    text
}
