//! The last URL an adapter built for a provider, parsed. An adapter builds the same URL for
//! every request to an endpoint, and parsing it (scheme, host with IDNA, percent-encoding) costs
//! a few microseconds a request; the parsed copy is reused while the text is the same.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use reqwest::Url;

/// The last URL parsed for one provider, swapped atomically when the adapter builds another.
#[derive(Debug, Default)]
pub struct ParsedUrlCache(ArcSwapOption<(String, Url)>);

impl ParsedUrlCache {
    /// `url` parsed: the cached copy when it is the last URL parsed here.
    pub fn parse(&self, url: &str) -> Result<Url, url::ParseError> {
        if let Some(cached) = &*self.0.load()
            && cached.0 == url
        {
            return Ok(cached.1.clone());
        }
        let parsed = Url::parse(url)?;
        self.0
            .store(Some(Arc::new((url.to_owned(), parsed.clone()))));
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_gives_the_same_url_and_another_text_its_own() {
        let cache = ParsedUrlCache::default();
        let first = cache
            .parse("https://api.example.com/v1/chat")
            .expect("a URL");
        assert_eq!(first.host_str(), Some("api.example.com"));
        let again = cache
            .parse("https://api.example.com/v1/chat")
            .expect("a URL");
        assert_eq!(again, first);
        let other = cache.parse("https://b.example.com/x?k=1").expect("a URL");
        assert_eq!(other.as_str(), "https://b.example.com/x?k=1");
        assert!(cache.parse("not a url").is_err());
        assert_eq!(
            cache.parse("https://b.example.com/x?k=1").expect("a URL"),
            other
        );
    }
}
