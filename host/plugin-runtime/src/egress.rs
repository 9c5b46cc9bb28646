//! Where a provider's requests may go and where its credential travels: the operator's decision,
//! never the adapter's.
//!
//! A request may go to the configured base URL's origin (scheme, host and port) only, unless the
//! operator lists `allowed_hosts`: then to the hosts listed, on the base URL's port for its own
//! host and on the scheme's default port for the others. An adapter's declared hosts only narrow
//! that list; a declaration of `*`, an IP literal, a loopback, link-local or
//! private address or an internal name keeps the adapter from loading. The credential goes where
//! the operator's `credential` setting says, else where the adapter first asked, for good.

use std::net::IpAddr;
use std::sync::OnceLock;

use reqwest::Url;

use switchyard_domain::config::CredentialConfig;
use switchyard_domain::plugin_types::CredentialPlacement;

/// The scheme, host and port of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or IP literal, as the URL spells it.
    pub host: String,
    /// Port, explicit or the scheme's default.
    pub port: u16,
}

impl Origin {
    /// The origin of `url`, when it has a host and a port.
    pub fn of(url: &Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_ascii_lowercase(),
            host: url.host_str()?.to_owned(),
            port: url.port_or_known_default()?,
        })
    }

    /// True when `url` has this host and port (the scheme is checked apart).
    fn hosts(&self, url: &Url) -> bool {
        url.host_str()
            .is_some_and(|host| host.eq_ignore_ascii_case(&self.host))
            && url.port_or_known_default() == Some(self.port)
    }
}

/// One provider's egress rules.
#[derive(Debug, Default)]
pub struct Egress {
    /// The configured base URL's origin.
    base: Option<Origin>,
    /// The operator's `allowed_hosts`: when set, the only hosts requests may go to.
    allowed_hosts: Option<Vec<String>>,
    /// The operator's credential placement, when configured.
    configured_placement: Option<CredentialPlacement>,
    /// Without one: the placement the adapter asked for first, kept for good.
    pinned_placement: OnceLock<CredentialPlacement>,
}

/// Why a credential placement is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the adapter asked for credential placement {asked:?}, but this provider's is {fixed:?}")]
pub struct PlacementChanged {
    asked: CredentialPlacement,
    fixed: CredentialPlacement,
}

impl Egress {
    /// The rules for a provider with this base URL, `allowed_hosts` and `credential` setting.
    pub fn new(
        base_url: &Url,
        allowed_hosts: Option<&[String]>,
        credential: Option<&CredentialConfig>,
    ) -> Egress {
        Egress {
            base: Origin::of(base_url),
            allowed_hosts: allowed_hosts.map(<[String]>::to_vec),
            configured_placement: credential.map(CredentialConfig::placement),
            pinned_placement: OnceLock::new(),
        }
    }

    /// True when a request to `url` may be sent for an adapter declaring `declared` hosts.
    pub fn allows(&self, url: &Url, declared: &[String]) -> bool {
        let Some(base) = &self.base else {
            return false;
        };
        let scheme_ok = match url.scheme() {
            "https" => true,
            // Plain HTTP only where the operator's own base URL is plain HTTP (local servers).
            "http" => base.scheme == "http",
            _ => false,
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return false;
        };
        if !scheme_ok {
            return false;
        }
        let Some(listed) = &self.allowed_hosts else {
            return base.hosts(url);
        };
        if !listed.iter().any(|pattern| host_matches(pattern, host)) {
            return false;
        }
        let default_port = matches!((url.scheme(), port), ("https", 443) | ("http", 80));
        let adapter_allows = declared.is_empty() || declared.iter().any(|p| host_matches(p, host));
        base.hosts(url) || (default_port && adapter_allows)
    }

    /// True when `url` goes to the base URL's exact origin (requests the host signs).
    pub fn at_base_origin(&self, url: &Url) -> bool {
        self.base
            .as_ref()
            .is_some_and(|base| base.hosts(url) && base.scheme == url.scheme())
    }

    /// Where the credential goes for a request whose adapter asked for `asked`: the operator's
    /// placement when configured; otherwise the adapter's first choice, which later requests
    /// may not change.
    pub fn placement(
        &self,
        asked: &CredentialPlacement,
    ) -> Result<CredentialPlacement, PlacementChanged> {
        if let Some(configured) = &self.configured_placement {
            return Ok(configured.clone());
        }
        let fixed = self.pinned_placement.get_or_init(|| asked.clone());
        if fixed == asked {
            Ok(fixed.clone())
        } else {
            Err(PlacementChanged {
                asked: asked.clone(),
                fixed: fixed.clone(),
            })
        }
    }
}

/// `*` matches any host, `*.example.com` any subdomain of example.com, anything else exactly
/// (ASCII case-insensitive). Only operators may write `*`: adapters' declarations are checked by
/// [`check_declared_hosts`].
pub fn host_matches(pattern: &str, host: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix("*.") {
        Some(domain) => {
            host.len() > domain.len() + 1
                && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
        }
        None => pattern.eq_ignore_ascii_case(host),
    }
}

/// Refuses an adapter's declared hosts that could point a credential somewhere the operator did
/// not choose: `*` and other wildcards than a leading `*.`, IP literals (loopback, link-local,
/// private or public alike), `localhost` and internal names.
pub fn check_declared_hosts(declared: &[String]) -> Result<(), String> {
    for pattern in declared {
        let domain = pattern.strip_prefix("*.").unwrap_or(pattern);
        let name = domain.trim_end_matches('.').to_ascii_lowercase();
        let refused = if name.is_empty() || name.contains('*') {
            Some("a wildcard other than a leading `*.`")
        } else if name.parse::<IpAddr>().is_ok()
            || name.trim_matches(['[', ']']).parse::<IpAddr>().is_ok()
            || name.split('.').all(|label| label.parse::<u32>().is_ok())
        {
            Some("an IP address")
        } else if !name.contains('.') {
            Some("not a public domain name")
        } else if [
            ".localhost",
            ".local",
            ".internal",
            ".localdomain",
            ".home.arpa",
        ]
        .iter()
        .any(|suffix| format!(".{name}").ends_with(suffix))
        {
            Some("an internal name")
        } else {
            None
        };
        if let Some(why) = refused {
            return Err(format!(
                "declared allowed host {pattern:?} is refused: {why}; only the operator chooses \
                 such hosts (allowed_hosts, base_url)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn egress(base: &str, allowed: Option<&[&str]>) -> Egress {
        let allowed: Option<Vec<String>> =
            allowed.map(|hosts| hosts.iter().map(|h| (*h).to_owned()).collect());
        Egress::new(&url(base), allowed.as_deref(), None)
    }

    #[test]
    fn host_patterns() {
        assert!(host_matches("*", "anything.example"));
        assert!(host_matches("api.openai.com", "API.openai.com"));
        assert!(!host_matches("api.openai.com", "api.openai.com.evil.net"));
        assert!(host_matches("*.anthropic.com", "api.anthropic.com"));
        assert!(!host_matches("*.anthropic.com", "anthropic.com"));
        assert!(!host_matches("*.anthropic.com", "evilanthropic.com"));
    }

    #[test]
    fn by_default_only_the_base_origin_is_reachable_whatever_the_adapter_declares() {
        let rules = egress("https://api.groq.com/openai/v1", None);
        let star = ["*".to_owned()];
        assert!(rules.allows(&url("https://api.groq.com/openai/v1/chat"), &star));
        assert!(rules.allows(&url("https://API.groq.com:443/x"), &[]));
        for refused in [
            "https://evil.example/steal",
            "http://169.254.169.254/latest/meta-data/",
            "http://api.groq.com/openai/v1/chat",
            "https://api.groq.com:8443/x",
            "https://api.openai.com/v1/chat",
            "ftp://api.groq.com/x",
        ] {
            assert!(!rules.allows(&url(refused), &star), "{refused}");
        }
    }

    #[test]
    fn plain_http_only_where_the_operator_base_url_is_plain_http() {
        let local = egress("http://127.0.0.1:11434/v1", None);
        assert!(local.allows(&url("http://127.0.0.1:11434/v1/chat"), &[]));
        assert!(!local.allows(&url("http://127.0.0.1:11435/v1/chat"), &[]));
        assert!(!local.allows(&url("http://localhost:11434/v1/chat"), &[]));
    }

    #[test]
    fn operator_hosts_replace_the_default_and_adapter_declarations_only_narrow() {
        let none: [String; 0] = [];
        let locked = egress("http://127.0.0.1:9999/v1", Some(&["api.openai.com"]));
        assert!(!locked.allows(&url("http://127.0.0.1:9999/v1/chat"), &none));
        assert!(locked.allows(&url("https://api.openai.com/v1/chat"), &none));

        let rules = egress(
            "https://a.example:8443/v1",
            Some(&["a.example", "*.azure.example", "other.example"]),
        );
        assert!(rules.allows(&url("https://a.example:8443/v1/chat"), &none));
        assert!(rules.allows(&url("https://x.azure.example/v1"), &none));
        assert!(rules.allows(&url("https://other.example/v1"), &none));
        assert!(!rules.allows(&url("https://other.example:444/v1"), &none));
        assert!(!rules.allows(&url("http://other.example/v1"), &none));
        let narrow = ["*.azure.example".to_owned()];
        assert!(rules.allows(&url("https://a.example:8443/v1/chat"), &narrow));
        assert!(rules.allows(&url("https://x.azure.example/v1"), &narrow));
        assert!(!rules.allows(&url("https://other.example/v1"), &narrow));
        let wide = ["evil.example".to_owned()];
        assert!(!rules.allows(&url("https://evil.example/v1"), &wide));
    }

    #[test]
    fn declarations_naming_addresses_or_wildcards_are_refused() {
        for bad in [
            "*",
            "*.*",
            "api.*.com",
            "169.254.169.254",
            "127.0.0.1",
            "10.0.0.1",
            "[::1]",
            "::1",
            "2130706433",
            "localhost",
            "metadata.google.internal",
            "printer.local",
            "a.localhost",
        ] {
            assert!(
                check_declared_hosts(&[bad.to_owned()]).is_err(),
                "{bad} accepted"
            );
        }
        let good = ["api.openai.com".to_owned(), "*.openai.azure.com".to_owned()];
        assert_eq!(check_declared_hosts(&good), Ok(()));
    }

    #[test]
    fn the_credential_placement_is_fixed_by_the_operator_or_by_the_first_request() {
        let rules = egress("https://a.example/v1", None);
        assert_eq!(
            rules.placement(&CredentialPlacement::Bearer),
            Ok(CredentialPlacement::Bearer)
        );
        assert!(
            rules
                .placement(&CredentialPlacement::Query("key".to_owned()))
                .is_err()
        );
        let configured = Egress::new(
            &url("https://a.example/v1"),
            None,
            Some(&CredentialConfig::Header("api-key".to_owned())),
        );
        assert_eq!(
            configured.placement(&CredentialPlacement::Query("key".to_owned())),
            Ok(CredentialPlacement::Header("api-key".to_owned()))
        );
    }

    #[test]
    fn only_the_base_origin_is_the_base_origin() {
        let rules = egress("https://bedrock-runtime.us-east-1.amazonaws.com", None);
        let at = |text: &str| rules.at_base_origin(&url(text));
        assert!(at(
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse"
        ));
        assert!(at("https://BEDROCK-runtime.us-east-1.amazonaws.com:443/x"));
        assert!(!at("https://sts.amazonaws.com/"));
        assert!(!at(
            "https://bedrock-runtime.us-east-1.amazonaws.com:8443/x"
        ));
        assert!(!at("http://bedrock-runtime.us-east-1.amazonaws.com/x"));
        assert!(!Egress::default().at_base_origin(&url("https://a.example/")));
    }
}
