//! Typed endpoint options: the operator's `options` table of a provider, deserialised into the
//! adapter's own struct, with unknown keys and invalid values refused.
//!
//! ```ignore
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields, rename_all = "snake_case")]
//! struct Settings {
//!     #[serde(default)]
//!     auth: BearerAuth,         // an enum of strings: `auth = "bearer"` or `"none"`
//!     #[serde(default = "default_path")]
//!     path: String,
//! }
//!
//! // `header.<name>` keys become static headers; every other key must be a field of `Settings`.
//! let EndpointOptions { settings, headers } = EndpointOptions::<Settings>::parse(&endpoint)?;
//! ```
//!
//! Option values are strings. A field may be a `String`, an enum of unit variants, a `bool`
//! (`"true"`/`"false"`), a number (parsed from the string) or an `Option` of these.

use serde::de::value::{Error as ValueError, MapAccessDeserializer, StrDeserializer};
use serde::de::{DeserializeOwned, DeserializeSeed, Error as _, IntoDeserializer, MapAccess};
use serde::de::{Deserializer, Visitor};

use crate::provider::{CredentialPlacement, EndpointSettings, Header, PluginError};

/// The prefix of the option keys that become static upstream headers: `header.<name>`.
pub const HEADER_PREFIX: &str = "header.";

/// An endpoint's options: the adapter's typed settings and the static headers.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointOptions<T> {
    /// Every option that is not a header, deserialised.
    pub settings: T,
    /// `header.<name> = value` options, as `(name, value)`, in the operator's order.
    pub headers: Vec<Header>,
}

impl<T: DeserializeOwned> EndpointOptions<T> {
    /// Reads `endpoint.options`: `header.<name>` keys become [`headers`](Self::headers), the
    /// others are deserialised into `T`. An unknown key (a typo) or an invalid value is an
    /// operator configuration error, reported as [`PluginError::Internal`] naming the option.
    pub fn parse(endpoint: &EndpointSettings) -> Result<Self, PluginError> {
        let mut headers = Vec::new();
        let mut rest = Vec::new();
        for (key, value) in &endpoint.options {
            match key.strip_prefix(HEADER_PREFIX) {
                Some(name) if !name.is_empty() => headers.push((name.to_owned(), value.clone())),
                _ => rest.push((key.as_str(), value.as_str())),
            }
        }
        Ok(EndpointOptions {
            settings: deserialize(&rest)?,
            headers,
        })
    }
}

/// Deserialises every option of `endpoint` into `T` (no `header.<name>` convention): unknown
/// keys and invalid values are refused as [`PluginError::Internal`] naming the option.
pub fn parse_options<T: DeserializeOwned>(endpoint: &EndpointSettings) -> Result<T, PluginError> {
    let entries: Vec<(&str, &str)> = endpoint
        .options
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    deserialize(&entries)
}

fn deserialize<T: DeserializeOwned>(entries: &[(&str, &str)]) -> Result<T, PluginError> {
    let access = OptionsAccess {
        entries: entries.iter(),
        current: None,
    };
    T::deserialize(MapAccessDeserializer::new(access))
        .map_err(|error| PluginError::Internal(format!("invalid endpoint options: {error}")))
}

/// The options as a map whose values name their key when they fail to deserialise.
struct OptionsAccess<'a> {
    entries: std::slice::Iter<'a, (&'a str, &'a str)>,
    current: Option<&'a (&'a str, &'a str)>,
}

impl<'de> MapAccess<'de> for OptionsAccess<'_> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        seed.deserialize(entry.0.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        let (key, value) = self
            .current
            .take()
            .ok_or_else(|| ValueError::custom("an option value without its key"))?;
        seed.deserialize(OptionValue(value))
            .map_err(|error| ValueError::custom(format!("option `{key}` = {value:?}: {error}")))
    }
}

/// The usual `auth` option: `bearer` (the default, `Authorization: Bearer <key>`) or `none`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BearerAuth {
    /// `Authorization: Bearer <key>`.
    #[default]
    Bearer,
    /// No credential.
    None,
}

impl From<BearerAuth> for CredentialPlacement {
    fn from(auth: BearerAuth) -> Self {
        match auth {
            BearerAuth::Bearer => CredentialPlacement::Bearer,
            BearerAuth::None => CredentialPlacement::None,
        }
    }
}

/// The options of an adapter whose only settings are `auth` ([`BearerAuth`]) and `path` (appended
/// to the base URL), besides `header.<name>`: the shape of most chat-completions-like APIs.
#[derive(Debug, Clone)]
pub struct PathOptions {
    /// Where the host puts the credential.
    pub credential: CredentialPlacement,
    /// Path appended to the base URL.
    pub path: String,
    /// Static extra headers (`header.<name>` options).
    pub headers: Vec<Header>,
}

/// The settings of [`PathOptions`] besides `header.<name>`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PathSettings {
    #[serde(default)]
    auth: BearerAuth,
    path: Option<String>,
}

impl PathOptions {
    /// Reads the options of `endpoint`, with `default_path` when the operator sets no `path`.
    /// Unknown keys (typos) and invalid values are an operator configuration error reported as
    /// [`PluginError::Internal`].
    pub fn parse(endpoint: &EndpointSettings, default_path: &str) -> Result<Self, PluginError> {
        let EndpointOptions { settings, headers } =
            EndpointOptions::<PathSettings>::parse(endpoint)?;
        Ok(PathOptions {
            credential: settings.auth.into(),
            path: settings.path.unwrap_or_else(|| default_path.to_owned()),
            headers,
        })
    }
}

/// One option value: a string, read as the field's type asks.
struct OptionValue<'a>(&'a str);

impl OptionValue<'_> {
    fn parse<T: std::str::FromStr>(&self, expected: &str) -> Result<T, ValueError>
    where
        T::Err: std::fmt::Display,
    {
        self.0
            .trim()
            .parse()
            .map_err(|error| ValueError::custom(format!("expected {expected}: {error}")))
    }
}

impl<'de> Deserializer<'de> for OptionValue<'_> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_str(self.0)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_bool(self.parse("true or false")?)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_u64(self.parse("a whole number")?)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_u32(self.parse("a whole number")?)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_i64(self.parse("a whole number")?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_f64(self.parse("a number")?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        let text: StrDeserializer<'_, ValueError> = self.0.into_deserializer();
        text.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u128 f32 char str string bytes byte_buf unit unit_struct
        newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde::Deserialize;

    use super::*;
    use crate::testing::endpoint;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Settings {
        #[serde(default)]
        auth: BearerAuth,
        #[serde(default = "default_path")]
        path: String,
        region: Option<String>,
        #[serde(default)]
        strict: bool,
        max_retries: Option<u32>,
    }

    fn default_path() -> String {
        "chat".to_owned()
    }

    fn parse(options: &[(&str, &str)]) -> Result<EndpointOptions<Settings>, PluginError> {
        EndpointOptions::parse(&endpoint("https://x", "m", options))
    }

    fn error(options: &[(&str, &str)]) -> String {
        match parse(options) {
            Err(PluginError::Internal(message)) => message,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn defaults_values_and_headers() {
        let parsed = parse(&[]).unwrap();
        assert_eq!(parsed.settings.auth, BearerAuth::Bearer);
        assert_eq!(parsed.settings.path, "chat");
        assert!(parsed.headers.is_empty());

        let parsed = parse(&[
            ("auth", "none"),
            ("header.X-Client", "a"),
            ("path", "v2/chat"),
            ("region", "eu"),
            ("strict", "true"),
            ("max_retries", "3"),
        ])
        .unwrap();
        assert_eq!(parsed.settings.auth, BearerAuth::None);
        assert_eq!(parsed.settings.path, "v2/chat");
        assert_eq!(parsed.settings.region.as_deref(), Some("eu"));
        assert!(parsed.settings.strict);
        assert_eq!(parsed.settings.max_retries, Some(3));
        assert_eq!(
            parsed.headers,
            vec![("X-Client".to_owned(), "a".to_owned())]
        );
    }

    #[test]
    fn unknown_keys_and_invalid_values_are_refused_naming_the_option() {
        let unknown = error(&[("pth", "x")]);
        assert!(unknown.contains("unknown field `pth`"), "{unknown}");
        let invalid = error(&[("auth", "basic")]);
        assert!(
            invalid.contains("option `auth` = \"basic\"") && invalid.contains("bearer"),
            "{invalid}"
        );
        let not_a_number = error(&[("max_retries", "many")]);
        assert!(
            not_a_number.contains("option `max_retries`"),
            "{not_a_number}"
        );
        let empty_header = error(&[("header.", "x")]);
        assert!(empty_header.contains("header."), "{empty_header}");
    }

    #[test]
    fn without_the_header_convention_every_key_is_a_field() {
        let refused = parse_options::<Settings>(&endpoint("https://x", "m", &[("header.A", "1")]));
        assert!(matches!(refused, Err(PluginError::Internal(m)) if m.contains("header.A")));
    }
}
