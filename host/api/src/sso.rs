//! Single sign-on for the dashboard and the admin API: OpenID Connect, authorisation code with
//! PKCE (the `openidconnect` crate checks the ID token: signature, issuer, audience, expiry,
//! nonce). `GET /auth/login` sends the browser to the provider; `GET /auth/callback` takes the
//! code back, maps the configured claim (e.g. `groups`) to a role and account scope, and issues
//! a short-lived admin token (stored like the others, so every gateway takes it), handed to the
//! dashboard in the URL fragment — never a cookie: the admin API only reads bearer tokens.
//! Sign-ins under way are kept in memory (bounded, ten minutes), so the callback must reach the
//! gateway that started the sign-in.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::route::Route;
use switchyard_accounting::admin_tokens::{NewAdminToken, Role};
use switchyard_accounting::keys::{hash_secret, random_id};
use switchyard_accounting::storage_error;
use switchyard_domain::config::SsoConfig;
use switchyard_domain::money::now;

/// How long a sign-in may take, from `/auth/login` to the callback.
const SIGN_IN_WINDOW: Duration = Duration::from_secs(600);

/// Most sign-ins under way at once (each is a few hundred bytes).
const MAX_PENDING: usize = 10_000;

/// The routes of sign-in (public: they hand out tokens only to whom the provider vouches for).
pub fn routes() -> Vec<Route> {
    vec![
        Route::at("/auth/login").get(login),
        Route::at("/auth/callback").get(callback),
    ]
}

/// Every claim of the ID token beyond the standard ones.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, Value>,
}

impl AdditionalClaims for OtherClaims {}

type SsoTokenResponse = StandardTokenResponse<
    IdTokenFields<
        OtherClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

type SsoClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    SsoTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why single sign-on cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// A setting is invalid.
    #[error("admin.sso: {0}")]
    Config(String),
}

/// One mapping of a claim value to a role, checked.
#[derive(Debug, Clone)]
struct Mapping {
    value: String,
    role: Role,
    account: Option<String>,
}

/// A sign-in under way.
#[derive(Debug)]
struct Pending {
    verifier: String,
    nonce: String,
    started: Instant,
}

/// The single sign-on of a gateway.
#[derive(Debug)]
pub struct Sso {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    scopes: Vec<String>,
    role_claim: String,
    token_ttl_secs: i64,
    after_login: String,
    mappings: Vec<Mapping>,
    http: reqwest::Client,
    provider: tokio::sync::OnceCell<CoreProviderMetadata>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl Sso {
    /// Checks `config`; the provider is discovered at the first sign-in.
    pub fn new(config: &SsoConfig) -> Result<Sso, SsoError> {
        let bad = |what: String| SsoError::Config(what);
        let mut mappings = Vec::new();
        for mapping in &config.roles {
            let role = Role::parse(&mapping.role)
                .ok_or_else(|| bad(format!("unknown role {:?}", mapping.role)))?;
            if mapping.account.is_some() && !role.scopable() {
                return Err(bad(format!(
                    "a {} mapping cannot take an account",
                    role.as_str()
                )));
            }
            mappings.push(Mapping {
                value: mapping.value.clone(),
                role,
                account: mapping.account.clone(),
            });
        }
        let client_secret = match &config.client_secret_env {
            Some(variable) => Some(ClientSecret::new(std::env::var(variable).map_err(
                |_| {
                    bad(format!(
                        "the variable {variable} (client_secret_env) is not set"
                    ))
                },
            )?)),
            None => None,
        };
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer send the gateway anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| bad(format!("HTTP client: {error}")))?;
        Ok(Sso {
            issuer: IssuerUrl::new(config.issuer.clone())
                .map_err(|error| bad(format!("issuer: {error}")))?,
            client_id: ClientId::new(config.client_id.clone()),
            client_secret,
            redirect: RedirectUrl::new(config.redirect_url.clone())
                .map_err(|error| bad(format!("redirect_url: {error}")))?,
            scopes: config.scopes.clone(),
            role_claim: config.role_claim.clone(),
            token_ttl_secs: i64::try_from(config.token_ttl_secs).unwrap_or(i64::MAX),
            after_login: config.after_login.clone(),
            mappings,
            http,
            provider: tokio::sync::OnceCell::new(),
            pending: Mutex::new(HashMap::new()),
        })
    }

    async fn client(&self) -> Result<SsoClient, ApiError> {
        let metadata = self
            .provider
            .get_or_try_init(|| {
                CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            })
            .await
            .map_err(|error| {
                tracing::error!(%error, "OpenID provider discovery failed");
                unavailable(format!("the OpenID provider cannot be reached: {error}"))
            })?;
        Ok(SsoClient::from_provider_metadata(
            metadata.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone()))
    }

    /// Keeps a new sign-in; refuses when too many are under way.
    fn remember(&self, state: String, pending: Pending) -> Result<(), ApiError> {
        let mut all = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        all.retain(|_, sign_in| sign_in.started.elapsed() < SIGN_IN_WINDOW);
        if all.len() >= MAX_PENDING {
            return Err(unavailable(
                "too many sign-ins under way; try again shortly",
            ));
        }
        all.insert(state, pending);
        Ok(())
    }

    fn take(&self, state: &str) -> Option<Pending> {
        let mut all = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        all.remove(state)
            .filter(|sign_in| sign_in.started.elapsed() < SIGN_IN_WINDOW)
    }

    /// The first mapping whose value the role claim holds (a string or a list of strings).
    fn mapping(&self, claims: &OtherClaims) -> Option<&Mapping> {
        let held: Vec<&str> = match claims.claims.get(&self.role_claim) {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        self.mappings
            .iter()
            .find(|mapping| held.contains(&mapping.value.as_str()))
    }
}

fn unavailable(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "api_error", message.into())
        .with_code("sso_unavailable")
}

fn refused(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "permission_error", message.into())
        .with_code("sso_refused")
}

fn configured(state: &AppState) -> Result<&Sso, ApiError> {
    state.sso.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "single sign-on is not configured (admin.sso)",
        )
        .with_code("sso_disabled")
    })
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// `GET /auth/login`: to the provider, with a fresh PKCE challenge, state and nonce.
async fn login(State(state): State<AppState>) -> Result<Response, ApiError> {
    let sso = configured(&state)?;
    let client = sso.client().await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(sso.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    sso.remember(
        csrf.secret().clone(),
        Pending {
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            started: Instant::now(),
        },
    )?;
    Ok(see_other(url.as_str()))
}

/// Query of the callback.
#[derive(Debug, Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// `GET /auth/callback`: the code exchanged (with the PKCE verifier), the ID token checked, the
/// claim mapped, a short-lived admin token issued and handed to the dashboard in the fragment.
async fn callback(
    State(state): State<AppState>,
    query: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let sso = configured(&state)?;
    let Query(query) = query.map_err(|error| ApiError::invalid_request(error.body_text()))?;
    if let Some(error) = query.error {
        return Err(refused(format!(
            "the OpenID provider refused the sign-in: {error} {}",
            query.error_description.unwrap_or_default()
        )));
    }
    let (Some(code), Some(csrf)) = (query.code, query.state) else {
        return Err(ApiError::invalid_request(
            "the callback needs `code` and `state`",
        ));
    };
    let pending = sso.take(&csrf).ok_or_else(|| {
        ApiError::invalid_request("unknown or expired sign-in: start again at /auth/login")
            .with_code("sso_unknown_state")
    })?;
    let client = sso.client().await?;
    let exchange = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|error| unavailable(format!("the provider has no token endpoint: {error}")))?;
    let tokens = exchange
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&sso.http)
        .await
        .map_err(|error| refused(format!("the code was not accepted: {error}")))?;
    let id_token = openidconnect::TokenResponse::id_token(&tokens)
        .ok_or_else(|| refused("the provider answered no ID token"))?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce))
        .map_err(|error| refused(format!("the ID token does not check out: {error}")))?;
    let subject = claims.subject().as_str().to_owned();
    let Some(mapping) = sso.mapping(claims.additional_claims()) else {
        return Err(refused(format!(
            "{subject:?} holds no `{}` value mapped to a role (admin.sso.roles)",
            sso.role_claim
        )));
    };
    let label = claims
        .email()
        .map(|email| email.as_str().to_owned())
        .unwrap_or_else(|| subject.clone());
    let accounting = super::admin_lookup::enabled(&state)?;
    let secret = super::admin_tokens::new_admin_secret();
    let expires_at = now().saturating_add(sso.token_ttl_secs);
    let actor = format!("sso:{subject}");
    accounting
        .store
        .create_admin_token(
            &random_id("adm"),
            &hash_secret(&secret),
            &NewAdminToken {
                role: mapping.role,
                account: mapping.account.as_deref(),
                label: &label,
                subject: Some(&subject),
                created_by: &actor,
                expires_at: Some(expires_at),
            },
        )
        .await
        .map_err(storage_error)?;
    tracing::info!(%subject, role = mapping.role.as_str(), account = ?mapping.account, "signed in");
    Ok(see_other(&format!(
        "{}#token={secret}&expires_at={expires_at}",
        sso.after_login
    )))
}
