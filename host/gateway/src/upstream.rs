//! Sending adapter-built requests upstream: host allow-list check, credential injection, one
//! shared pooled client, and the first-byte / idle / total timeouts.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use tokio::time::Instant;

use super::accepted::Acceptance;
use switchyard_accounting::byok::AccountCredential;
use switchyard_catalog::Provider;
use switchyard_catalog::credentials::prepared::PreparedCredential;
use switchyard_domain::config::ServerConfig;
use switchyard_domain::failure::Failure;
use switchyard_domain::plugin_types::{CredentialPlacement, UpstreamRequest};
use switchyard_domain::sigv4;
use switchyard_plugin_runtime::ProviderPlugin;

/// The shared HTTP client for every upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    client: reqwest::Client,
    max_body_bytes: usize,
}

impl Upstream {
    /// A pooled HTTP/1.1 + HTTP/2 client over rustls.
    pub fn new(config: &ServerConfig) -> Result<Upstream, reqwest::Error> {
        // No retries in the client: the gateway fails over itself, and reqwest's default policy
        // (protocol NACKs, up to 2 retries) clones every request's headers and body to be able to
        // replay it, even with `retry::never()` unless the retry count is 0.
        let retries = reqwest::retry::never().max_retries_per_request(0);
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .retry(retries)
            .build()?;
        Ok(Upstream {
            client,
            max_body_bytes: config.max_upstream_body_bytes,
        })
    }

    /// Checks the URL, adds the credential and sends; returns when the response headers arrive.
    /// `account` is the account's own credential for the provider (BYOK), tried first.
    pub async fn send(
        &self,
        provider: &Provider,
        plugin: &ProviderPlugin,
        request: UpstreamRequest,
        deadline: Instant,
        acceptance: &Acceptance,
        account: Option<Arc<AccountCredential>>,
    ) -> Result<reqwest::Response, Failure> {
        let mut url = provider
            .parsed_url
            .parse(&request.url)
            .map_err(|e| Failure::Transport {
                provider: provider.name.clone(),
                message: format!("plugin {} built an invalid URL: {e}", plugin.name()),
            })?;
        let placement = provider
            .egress
            .placement(&request.credential)
            .map_err(|changed| Failure::Transport {
                provider: provider.name.clone(),
                message: format!("plugin {}: {changed}", plugin.name()),
            })?;
        // A request the host signs with AWS credentials may only go to the base URL's origin.
        let signed = matches!(placement, CredentialPlacement::AwsSigv4 { .. });
        if !provider.allows(&url, plugin) || (signed && !provider.egress.at_base_origin(&url)) {
            url.set_query(None);
            return Err(Failure::HostNotAllowed {
                provider: provider.name.clone(),
                plugin: plugin.name().to_owned(),
                url: url.to_string(),
            });
        }
        let method =
            Method::from_bytes(request.method.as_bytes()).map_err(|_| Failure::Transport {
                provider: provider.name.clone(),
                message: format!(
                    "plugin {} built an invalid method {:?}",
                    plugin.name(),
                    request.method
                ),
            })?;
        let mut headers = HeaderMap::with_capacity(request.headers.len() + 1);
        for (name, value) in request
            .headers
            .iter()
            .filter(|(name, _)| !is_reserved_header(name))
        {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                headers.append(name, value);
            }
        }
        switchyard_telemetry::traces::propagate::inject(&mut headers);
        let mut outgoing = Outgoing {
            method,
            url,
            headers,
            body: Bytes::from(request.body),
        };
        // Each credential of the attempt in turn (see `credential_plan`): the request is kept
        // to be sent again only while another credential may follow.
        let mut plan = super::credential_plan::Plan::new(provider, account);
        loop {
            let chosen = plan.next().await?;
            let spare = plan.may_follow(&chosen).then(|| outgoing.clone());
            plan.retarget(&chosen, &mut outgoing.url);
            let credential = (plan.secret(&chosen), plan.prepared(&chosen));
            let mut response = self
                .dispatch(
                    provider, &placement, outgoing, credential, deadline, acceptance,
                )
                .await?;
            let stands = plan.stands(&chosen, response.status().as_u16());
            match spare {
                Some(spare) if !stands => outgoing = spare,
                _ => {
                    if let Some(served) = plan.served_by(&chosen) {
                        response.extensions_mut().insert(served);
                    }
                    return Ok(response);
                }
            }
        }
    }

    /// Adds the credential (and the AWS signature) and sends; returns when the response
    /// headers arrive.
    async fn dispatch(
        &self,
        provider: &Provider,
        placement: &CredentialPlacement,
        mut outgoing: Outgoing,
        (credential, prepared): (Option<&str>, &PreparedCredential),
        deadline: Instant,
        acceptance: &Acceptance,
    ) -> Result<reqwest::Response, Failure> {
        insert_credential(
            provider,
            credential,
            prepared,
            placement,
            &mut outgoing.url,
            &mut outgoing.headers,
        )?;
        if let CredentialPlacement::AwsSigv4 { service, region } = placement {
            sign_aws_sigv4(
                provider,
                &outgoing.method,
                &outgoing.url,
                &mut outgoing.headers,
                &outgoing.body,
                service,
                region,
            )?;
        }

        let send = self
            .client
            .request(outgoing.method, outgoing.url)
            .headers(outgoing.headers)
            .body(acceptance.body(outgoing.body))
            .send();
        let first_byte = Duration::from_millis(provider.timeouts.first_byte_ms);
        let timeout = Timeout::sooner(provider, first_byte, "response headers", deadline);
        match tokio::time::timeout_at(timeout.at, send).await {
            Ok(Ok(mut response)) => {
                drop_echoed_credentials(provider, credential, response.headers_mut());
                Ok(response)
            }
            Ok(Err(error)) => Err(transport_failure(provider, &error)),
            Err(_) => Err(timeout.failure(provider)),
        }
    }

    /// Reads a whole (non-streamed) body before `deadline`, refusing bodies over the limit.
    /// The buffer is sized from `Content-Length` (within the limit), so a body is copied once,
    /// and one timer serves the whole read, moved on after each chunk (the idle timeout).
    pub async fn read_body(
        &self,
        provider: &Provider,
        response: &mut reqwest::Response,
        deadline: Instant,
    ) -> Result<Vec<u8>, Failure> {
        let announced = response.content_length().unwrap_or(0);
        let mut body = Vec::with_capacity(
            usize::try_from(announced).map_or(0, |announced| announced.min(self.max_body_bytes)),
        );
        let idle = Duration::from_millis(provider.timeouts.idle_ms);
        let mut timeout = Timeout::sooner(provider, idle, "data (idle timeout)", deadline);
        let timer = tokio::time::sleep_until(timeout.at);
        tokio::pin!(timer);
        loop {
            let chunk = tokio::select! {
                biased;
                chunk = response.chunk() => chunk.map_err(|error| transport_failure(provider, &error))?,
                () = &mut timer => return Err(timeout.failure(provider)),
            };
            let Some(chunk) = chunk else {
                return Ok(body);
            };
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(Failure::Transport {
                    provider: provider.name.clone(),
                    message: format!("upstream body exceeds {} bytes", self.max_body_bytes),
                });
            }
            body.extend_from_slice(&chunk);
            timeout = Timeout::sooner(provider, idle, "data (idle timeout)", deadline);
            timer.as_mut().reset(timeout.at);
        }
    }

    /// The next piece of a body if it has arrived already (`None`: nothing is waiting), so a
    /// burst of pieces is read together and goes to the client in one write.
    pub fn ready_chunk(
        &self,
        provider: &Provider,
        response: &mut reqwest::Response,
    ) -> Option<Result<Option<Bytes>, Failure>> {
        let ready = futures_util::FutureExt::now_or_never(response.chunk())?;
        Some(ready.map_err(|error| transport_failure(provider, &error)))
    }

    /// The next piece of a body, within the idle timeout and the overall deadline.
    pub async fn next_chunk(
        &self,
        provider: &Provider,
        response: &mut reqwest::Response,
        deadline: Instant,
    ) -> Result<Option<Bytes>, Failure> {
        let idle = Duration::from_millis(provider.timeouts.idle_ms);
        let timeout = Timeout::sooner(provider, idle, "data (idle timeout)", deadline);
        match tokio::time::timeout_at(timeout.at, response.chunk()).await {
            Ok(Ok(chunk)) => Ok(chunk),
            Ok(Err(error)) => Err(transport_failure(provider, &error)),
            Err(_) => Err(timeout.failure(provider)),
        }
    }
}

/// A request ready to be sent, before its credential.
#[derive(Clone)]
struct Outgoing {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Bytes,
}

/// Which timeout applies to one wait: the phase's own, or the attempt's total deadline when that
/// comes first.
struct Timeout {
    at: Instant,
    phase: &'static str,
    span: Duration,
}

impl Timeout {
    fn sooner(
        provider: &Provider,
        phase_span: Duration,
        phase: &'static str,
        deadline: Instant,
    ) -> Timeout {
        let phase_at = Instant::now() + phase_span;
        if phase_at < deadline {
            Timeout {
                at: phase_at,
                phase,
                span: phase_span,
            }
        } else {
            Timeout {
                at: deadline,
                phase: "complete response (total timeout)",
                span: Duration::from_millis(provider.timeouts.total_ms),
            }
        }
    }

    fn failure(&self, provider: &Provider) -> Failure {
        Failure::Timeout {
            provider: provider.name.clone(),
            phase: self.phase,
            limit: self.span,
        }
    }
}

/// Headers a plugin may not set: the connection and framing are the host's (a plugin-set `Host`
/// could redirect a request behind a shared proxy), and so is authorisation.
fn is_reserved_header(name: &str) -> bool {
    const RESERVED: [&str; 11] = [
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
        "authorization",
    ];
    RESERVED
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
}

/// Puts the provider's credential where the adapter asked.
fn insert_credential(
    provider: &Provider,
    credential: Option<&str>,
    prepared: &PreparedCredential,
    placement: &CredentialPlacement,
    url: &mut Url,
    headers: &mut HeaderMap,
) -> Result<(), Failure> {
    let Some(credential) = credential else {
        return Ok(());
    };
    let invalid = || Failure::Transport {
        provider: provider.name.clone(),
        message: "the credential or its header name is not a valid HTTP header".to_owned(),
    };
    match placement {
        CredentialPlacement::None => {}
        CredentialPlacement::Bearer => {
            let value = prepared.bearer().cloned().ok_or_else(invalid)?;
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        CredentialPlacement::Header(name) => {
            let name = HeaderName::try_from(name.as_str()).map_err(|_| invalid())?;
            let value = prepared.value().cloned().ok_or_else(invalid)?;
            headers.insert(name, value);
        }
        CredentialPlacement::Query(name) => {
            url.query_pairs_mut().append_pair(name, credential);
        }
        CredentialPlacement::AwsSigv4 { .. } => {} // signed last, over the final request
    }
    Ok(())
}

/// Removes the response headers that echo one of the provider's secrets (a credential, an AWS
/// secret or session token), so the adapter that reads the response never learns them.
fn drop_echoed_credentials(provider: &Provider, credential: Option<&str>, headers: &mut HeaderMap) {
    let aws = provider.aws_credentials.as_ref();
    let secrets: Vec<&str> = [
        credential,
        aws.map(|c| c.secret_access_key.as_str()),
        aws.and_then(|c| c.session_token.as_deref()),
    ]
    .into_iter()
    .flatten()
    .filter(|secret| !secret.is_empty())
    .collect();
    if secrets.is_empty() {
        return;
    }
    let echoing: Vec<HeaderName> = headers
        .iter()
        .filter(|(_, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            secrets.iter().any(|secret| value.contains(secret))
        })
        .map(|(name, _)| name.clone())
        .collect();
    for name in echoing {
        tracing::warn!(provider = %provider.name, header = %name, "upstream response header echoes a credential: removed");
        headers.remove(name);
    }
}

/// Signs the final request with the provider's AWS credentials (Signature Version 4, host clock).
fn sign_aws_sigv4(
    provider: &Provider,
    method: &Method,
    url: &Url,
    headers: &mut HeaderMap,
    body: &[u8],
    service: &str,
    region: &str,
) -> Result<(), Failure> {
    let failure = |message: &str| Failure::Transport {
        provider: provider.name.clone(),
        message: message.to_owned(),
    };
    let Some(credentials) = &provider.aws_credentials else {
        return Err(failure(
            "the adapter asks for AWS SigV4 signing but the provider has no aws_credentials",
        ));
    };
    let signed: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let request = sigv4::SignableRequest {
        method: method.as_str(),
        url,
        headers: &signed,
        body,
    };
    let scope = sigv4::Scope { service, region };
    for (name, value) in sigv4::sign(&request, credentials, scope, std::time::SystemTime::now()) {
        let mut value = HeaderValue::try_from(value)
            .map_err(|_| failure("the AWS credentials are not valid in an HTTP header"))?;
        value.set_sensitive(name != "x-amz-date");
        headers.insert(name, value);
    }
    Ok(())
}

fn transport_failure(provider: &Provider, error: &reqwest::Error) -> Failure {
    // reqwest's message may contain the URL, whose query may carry a credential: drop it.
    let text = error.without_url_ref();
    Failure::Transport {
        provider: provider.name.clone(),
        message: if error.is_connect() {
            format!("cannot connect: {text}")
        } else {
            format!("connection failed: {text}")
        },
    }
}

/// Removes the URL from a borrowed reqwest error's message.
trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<upstream>");
        }
        let mut source = std::error::Error::source(self);
        while let Some(inner) = source {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            source = inner.source();
        }
        text
    }
}
