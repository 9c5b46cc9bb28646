//! Google's OAuth side, for Vertex AI tests: a token endpoint that checks service account
//! assertions (RS256 JWTs, RFC 7523) with the key's public half and their claims, the metadata
//! server's token URL, and the access tokens they issue, which the mock's Vertex AI routes then
//! require (`Authorization: Bearer`, else 401 `UNAUTHENTICATED`).
//!
//! | path | answers |
//! |---|---|
//! | `POST /token` | `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>` → `{"access_token", "expires_in", "token_type"}`; a bad assertion → 400 `invalid_grant` |
//! | `GET /computeMetadata/v1/instance/service-accounts/default/token` | with `Metadata-Flavor: Google` → a token; without → 403 |

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::scenario::percent_decode;

/// The path of the token endpoint.
pub const TOKEN_PATH: &str = "/token";

/// The path of the metadata server's token URL.
pub const METADATA_TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

/// The scope Vertex AI needs.
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The mock's Google OAuth state: trusted service account, issued tokens.
#[derive(Debug, Clone, Default)]
pub struct GoogleAuth {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// The trusted service account: its email and public key (PEM).
    account: Option<(String, Vec<u8>)>,
    /// Whether the metadata server issues tokens.
    metadata: bool,
    /// Lifetime of the tokens issued; default one hour.
    lifetime: Option<Duration>,
    /// Issued tokens: expiry and whether revoked.
    tokens: HashMap<String, (Instant, bool)>,
    /// Tokens issued so far, by the token endpoint and by the metadata server.
    issued: (u64, u64),
    /// Refused assertions, with the reason.
    refusals: Vec<String>,
}

/// The claims Google requires of a service account assertion.
#[derive(Debug, Deserialize)]
struct Claims {
    scope: String,
    iat: u64,
    exp: u64,
}

/// An answer: status and JSON body.
pub type Answer = (u16, Value);

impl GoogleAuth {
    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Trusts the service account `email` whose public key is `public_pem`; from now on the
    /// mock's Vertex AI routes require a token it issued.
    pub fn trust_service_account(&self, email: &str, public_pem: &[u8]) {
        self.state().account = Some((email.to_owned(), public_pem.to_vec()));
    }

    /// Lets the metadata server issue tokens; from now on the Vertex AI routes require one.
    pub fn serve_metadata(&self) {
        self.state().metadata = true;
    }

    /// The lifetime (`expires_in`) of the tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state().lifetime = Some(lifetime);
    }

    /// Revokes every token issued so far.
    pub fn revoke_all(&self) {
        for (_, revoked) in self.state().tokens.values_mut() {
            *revoked = true;
        }
    }

    /// Tokens issued by the token endpoint and by the metadata server.
    pub fn issued(&self) -> (u64, u64) {
        self.state().issued
    }

    /// Why assertions were refused, oldest first.
    pub fn refusals(&self) -> Vec<String> {
        self.state().refusals.clone()
    }

    /// Whether Vertex AI requests need a token.
    pub fn enforcing(&self) -> bool {
        let state = self.state();
        state.account.is_some() || state.metadata
    }

    /// Whether `authorization` carries a valid (issued, unexpired, unrevoked) token.
    pub fn accepts(&self, authorization: Option<&str>) -> bool {
        let Some(token) = authorization.and_then(|value| value.strip_prefix("Bearer ")) else {
            return false;
        };
        self.state()
            .tokens
            .get(token)
            .is_some_and(|(expires, revoked)| !revoked && Instant::now() < *expires)
    }

    /// The token endpoint's answer to a form body, for the endpoint at `token_url` (the
    /// assertion's audience).
    pub fn exchange(&self, form: &[u8], token_url: &str) -> Answer {
        match self.check_assertion(form, token_url) {
            Ok(()) => {
                let mut state = self.state();
                state.issued.0 += 1;
                issue(&mut state)
            }
            Err(reason) => {
                self.state().refusals.push(reason.clone());
                (
                    400,
                    json!({"error": "invalid_grant", "error_description": reason}),
                )
            }
        }
    }

    /// The metadata server's answer, given the request's `Metadata-Flavor` header.
    pub fn metadata_token(&self, flavor: Option<&str>) -> Answer {
        let mut state = self.state();
        if !state.metadata {
            return (404, json!({"error": "not on Google Cloud"}));
        }
        if flavor != Some("Google") {
            return (
                403,
                json!({"error": "Missing Metadata-Flavor:Google header."}),
            );
        }
        state.issued.1 += 1;
        issue(&mut state)
    }

    fn check_assertion(&self, form: &[u8], token_url: &str) -> Result<(), String> {
        let form = String::from_utf8_lossy(form);
        let fields: HashMap<String, String> = form
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (percent_decode(k), percent_decode(&v.replace('+', " "))))
            .collect();
        if fields.get("grant_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            return Err("grant_type is not jwt-bearer".to_owned());
        }
        let assertion = fields.get("assertion").ok_or("no assertion")?;
        let (email, pem) = self
            .state()
            .account
            .clone()
            .ok_or("no service account is trusted")?;
        let key = DecodingKey::from_rsa_pem(&pem).map_err(|e| format!("bad public key: {e}"))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[token_url]);
        validation.set_issuer(&[email.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
            .map_err(|e| format!("assertion refused: {e}"))?
            .claims;
        if !claims.scope.split(' ').any(|scope| scope == CLOUD_PLATFORM) {
            return Err(format!("scope {:?} lacks cloud-platform", claims.scope));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        if claims.exp <= claims.iat || claims.exp - claims.iat > 3600 || claims.iat > now + 60 {
            return Err(format!(
                "iat {} / exp {} are not a lifetime of at most one hour from now",
                claims.iat, claims.exp
            ));
        }
        Ok(())
    }
}

fn issue(state: &mut State) -> Answer {
    let lifetime = state.lifetime.unwrap_or(Duration::from_secs(3600));
    let token = format!("ya29.mock-{}", state.tokens.len() + 1);
    state
        .tokens
        .insert(token.clone(), (Instant::now() + lifetime, false));
    (
        200,
        json!({"access_token": token, "expires_in": lifetime.as_secs(), "token_type": "Bearer"}),
    )
}
