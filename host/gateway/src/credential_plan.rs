//! Which credential each send of one attempt carries, in order: the account's own (BYOK) first,
//! then the operator's (a minted Google token, a pooled credential, or the provider's single
//! key) when the account allows the fallback. The upstream's answer decides whether the next is
//! tried: a BYOK key refused (401, 403, 429) falls back when allowed, a Google token refused
//! (401) is refreshed once, a pooled credential refused (429, 401) cools down and another of
//! the pool is tried.

use std::sync::Arc;

use reqwest::Url;

use switchyard_accounting::byok::AccountCredential;
use switchyard_catalog::Provider;
use switchyard_catalog::credentials::prepared::PreparedCredential;
use switchyard_catalog::credentials::{GoogleToken, ServedBy};
use switchyard_domain::failure::Failure;
use switchyard_domain::plugin_types::ProviderError;

/// The credential of one send.
pub enum Chosen {
    /// The account's own.
    Account(Arc<AccountCredential>),
    /// A Google access token the host minted.
    Minted(Arc<GoogleToken>),
    /// The pooled credential at this index.
    Member(usize),
    /// The provider's single credential (or none).
    Operator,
}

/// The credentials of one attempt, tried in order.
pub struct Plan<'a> {
    provider: &'a Provider,
    account: Option<Arc<AccountCredential>>,
    account_tried: bool,
    token_refreshed: bool,
    tried: Vec<usize>,
}

impl<'a> Plan<'a> {
    /// The plan of a request to `provider`, with the account's own credential if it has one.
    pub fn new(provider: &'a Provider, account: Option<Arc<AccountCredential>>) -> Plan<'a> {
        Plan {
            provider,
            account,
            account_tried: false,
            token_refreshed: false,
            tried: Vec::new(),
        }
    }

    /// The next credential to send with; a failure when none is left (every pooled credential
    /// cooling down, or the Google token cannot be had).
    pub async fn next(&mut self) -> Result<Chosen, Failure> {
        if let Some(account) = &self.account
            && !self.account_tried
        {
            self.account_tried = true;
            return Ok(Chosen::Account(account.clone()));
        }
        if let Some(token) = minted(self.provider).await? {
            return Ok(Chosen::Minted(token));
        }
        let Some(pool) = &self.provider.credential_pool else {
            return Ok(Chosen::Operator);
        };
        match pool.choose(&self.tried) {
            Some(index) => Ok(Chosen::Member(index)),
            None => Err(Failure::Provider {
                provider: self.provider.name.clone(),
                error: ProviderError::RateLimited {
                    message: "every credential of the pool is cooling down".to_owned(),
                    retry_after_ms: None,
                },
            }),
        }
    }

    /// Whether another credential may follow `chosen` (the request is kept to send again).
    pub fn may_follow(&self, chosen: &Chosen) -> bool {
        match chosen {
            Chosen::Account(account) => account.fallback,
            Chosen::Minted(_) => !self.token_refreshed,
            // Another member untried by this request (this one is about to be tried).
            Chosen::Member(_) => (self.provider.credential_pool.as_ref())
                .is_some_and(|pool| self.tried.len() + 1 < pool.len()),
            Chosen::Operator => false,
        }
    }

    /// Judges the upstream's `status` to `chosen`: true when the answer stands, false when the
    /// next credential should be tried (only asked when [`Plan::may_follow`] said one may).
    pub fn stands(&mut self, chosen: &Chosen, status: u16) -> bool {
        match chosen {
            Chosen::Account(account) => {
                let refused = matches!(status, 401 | 403 | 429);
                if refused && account.fallback {
                    tracing::info!(provider = %self.provider.name, status, "the account's own key was refused: falling back to the operator's");
                }
                !(refused && account.fallback)
            }
            Chosen::Minted(token) if status == 401 && !self.token_refreshed => {
                rejected(self.provider, token);
                self.token_refreshed = true;
                false
            }
            Chosen::Minted(_) | Chosen::Operator => true,
            Chosen::Member(index) => {
                let served = self
                    .provider
                    .credential_pool
                    .as_ref()
                    .is_none_or(|pool| pool.judge(*index, status));
                self.tried.push(*index);
                served
            }
        }
    }

    /// The secret of `chosen` (`None`: the request goes without one).
    pub fn secret<'c>(&'c self, chosen: &'c Chosen) -> Option<&'c str> {
        match chosen {
            Chosen::Account(account) => Some(account.secret()),
            Chosen::Minted(token) => Some(token.secret()),
            Chosen::Member(index) => self.member(*index).map(|member| member.secret()),
            Chosen::Operator => self.provider.credential.as_deref(),
        }
    }

    /// The header values of `chosen`.
    pub fn prepared<'c>(&'c self, chosen: &'c Chosen) -> &'c PreparedCredential {
        match chosen {
            Chosen::Account(account) => account.prepared(),
            Chosen::Minted(token) => token.prepared(),
            Chosen::Member(index) => self
                .member(*index)
                .map_or(&self.provider.prepared_credential, |member| {
                    member.prepared()
                }),
            Chosen::Operator => &self.provider.prepared_credential,
        }
    }

    /// Moves `url` to the pooled credential's own base URL, when it has one.
    pub fn retarget(&self, chosen: &Chosen, url: &mut Url) {
        let Chosen::Member(index) = chosen else {
            return;
        };
        let Some(base_url) = self.member(*index).and_then(|member| member.base_url()) else {
            return;
        };
        let base = self.provider.base_url.trim_end_matches('/');
        if let Some(rest) = url.as_str().strip_prefix(base)
            && let Ok(moved) = Url::parse(&format!("{}{rest}", base_url.trim_end_matches('/')))
        {
            *url = moved;
        }
    }

    /// What to record of `chosen` having served.
    pub fn served_by(&self, chosen: &Chosen) -> Option<ServedBy> {
        match chosen {
            Chosen::Account(_) => Some(ServedBy {
                credential: Some("byok".to_owned()),
                byok: true,
            }),
            Chosen::Member(index) => self.member(*index).map(|member| ServedBy {
                credential: Some(member.name.clone()),
                byok: false,
            }),
            Chosen::Minted(_) | Chosen::Operator => None,
        }
    }

    fn member(&self, index: usize) -> Option<&switchyard_catalog::credentials::pool::Member> {
        self.provider.credential_pool.as_ref()?.member(index)
    }
}

/// The token to send with a request to `provider`, when the host mints its credential.
pub async fn minted(provider: &Provider) -> Result<Option<Arc<GoogleToken>>, Failure> {
    let Some(source) = &provider.google_credentials else {
        return Ok(None);
    };
    match source.token().await {
        Ok(token) => Ok(Some(token)),
        Err(error) => Err(Failure::Transport {
            provider: provider.name.clone(),
            message: format!("cannot get a Google access token: {error}"),
        }),
    }
}

/// The upstream refused `token` (401): the next request gets a fresh one.
pub fn rejected(provider: &Provider, token: &Arc<GoogleToken>) {
    if let Some(source) = &provider.google_credentials {
        tracing::info!(provider = %provider.name, "upstream refused the access token: refreshing it");
        source.forget(token);
    }
}
