//! What a request says about the cache, from its headers: `Cache-Control: no-cache` (do not
//! answer from the cache, store the fresh answer), `Cache-Control: no-store` (neither read nor
//! store), and `X-Switchyard-Cache` or OpenRouter's `X-OpenRouter-Cache` (`true` opts in,
//! `false` opts out), with `X-Switchyard-Cache-TTL` (or `X-OpenRouter-Cache-TTL`) in seconds.

use axum::http::HeaderMap;

/// A request's cache directives; the default says nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Directives {
    /// `Cache-Control: no-cache`: the answer is fetched fresh (and stored).
    pub no_read: bool,
    /// `Cache-Control: no-store`, or the cache header set to `false`: nothing read or stored.
    pub no_store: bool,
    /// The cache header set to `true`: the request opts in.
    pub opt_in: bool,
    /// The entry's time to live the request asks for, in seconds.
    pub ttl_secs: Option<u64>,
}

impl Directives {
    /// The directives of a request's headers.
    pub fn of(headers: &HeaderMap) -> Directives {
        let mut directives = Directives::default();
        for value in headers.get_all("cache-control") {
            for item in value.to_str().unwrap_or_default().split(',') {
                match item.trim().to_ascii_lowercase().as_str() {
                    "no-cache" => directives.no_read = true,
                    "no-store" => directives.no_store = true,
                    _ => {}
                }
            }
        }
        for name in ["x-switchyard-cache", "x-openrouter-cache"] {
            let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) else {
                continue;
            };
            match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "on" | "yes" => directives.opt_in = true,
                "false" | "0" | "off" | "no" | "bypass" => directives.no_store = true,
                _ => {}
            }
        }
        for name in ["x-switchyard-cache-ttl", "x-openrouter-cache-ttl"] {
            let ttl = headers.get(name).and_then(|v| v.to_str().ok());
            if let Some(ttl) = ttl.and_then(|ttl| ttl.trim().parse::<u64>().ok()) {
                directives.ttl_secs = Some(ttl);
            }
        }
        directives
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn of(pairs: &[(&'static str, &'static str)]) -> Directives {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        Directives::of(&headers)
    }

    #[test]
    fn headers_are_read() {
        assert_eq!(of(&[]), Directives::default());
        assert!(of(&[("cache-control", "max-age=0, No-Cache")]).no_read);
        assert!(of(&[("cache-control", "no-store")]).no_store);
        assert!(of(&[("x-switchyard-cache", "true")]).opt_in);
        assert!(of(&[("x-openrouter-cache", "TRUE")]).opt_in);
        assert!(of(&[("x-switchyard-cache", "false")]).no_store);
        assert_eq!(of(&[("x-switchyard-cache-ttl", "60")]).ttl_secs, Some(60));
        assert_eq!(of(&[("x-switchyard-cache-ttl", "soon")]).ttl_secs, None);
    }
}
