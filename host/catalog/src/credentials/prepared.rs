//! A credential turned into header values once, when it is loaded or rotated.

use reqwest::header::HeaderValue;

/// A provider's credential as header values, built once when the catalog loads (a new catalog,
/// a new credential: they are built again with it), so that no request formats and checks it.
/// Both are marked sensitive: HTTP/2 never indexes them and logs never show them.
#[derive(Clone, Default)]
pub struct PreparedCredential {
    /// `Bearer <credential>`; `None` when not a valid header value.
    bearer: Option<HeaderValue>,
    /// The credential alone, for a header the adapter names; `None` when not valid.
    value: Option<HeaderValue>,
}

impl PreparedCredential {
    /// The header values of `credential`.
    pub fn of(credential: Option<&str>) -> PreparedCredential {
        let sensitive = |text: &str| {
            let mut value = HeaderValue::try_from(text).ok()?;
            value.set_sensitive(true);
            Some(value)
        };
        let Some(credential) = credential else {
            return PreparedCredential::default();
        };
        PreparedCredential {
            bearer: sensitive(&format!("Bearer {credential}")),
            value: sensitive(credential),
        }
    }

    /// `Bearer <credential>`, when it is a valid header value.
    pub fn bearer(&self) -> Option<&HeaderValue> {
        self.bearer.as_ref()
    }

    /// The credential alone, when it is a valid header value.
    pub fn value(&self) -> Option<&HeaderValue> {
        self.value.as_ref()
    }
}

impl std::fmt::Debug for PreparedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreparedCredential(<redacted>)")
    }
}
