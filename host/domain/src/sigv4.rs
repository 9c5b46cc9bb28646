//! AWS Signature Version 4, done by the host for adapters that ask for the `aws-sigv4`
//! credential placement (Bedrock): the secret key never enters a plugin's sandbox, and the
//! timestamp comes from the host's clock (plugins see a frozen one).
//!
//! Why the host signs the final request (the `aws-sigv4` placement) rather than offering a
//! signing import to plugins: a signing import is an oracle that signs whatever string a plugin
//! builds, so a hostile plugin could obtain signatures for any AWS request; the plugin's clock is
//! frozen, so the host would have to supply the time anyway; and every adapter would repeat the
//! canonical-request code. Signing here covers exactly the request the host sends, to a host the
//! sandbox allows, and is written once.
//!
//! Only what a JSON API over HTTPS needs: signed headers (not presigned URLs), a signed body
//! hash, double-encoded paths (every service but S3).

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use reqwest::Url;
use sha2::{Digest, Sha256};

/// AWS credentials of one provider, read from the environment at startup.
#[derive(Clone)]
pub struct AwsCredentials {
    /// The access key id (not secret: it appears in every `Authorization` header).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The request being signed, as it will be sent.
#[derive(Debug)]
pub struct SignableRequest<'a> {
    /// Upper-case HTTP method.
    pub method: &'a str,
    /// The final URL.
    pub url: &'a Url,
    /// Every header that will be sent and should be signed, except `host`, `x-amz-date` and
    /// `x-amz-security-token`, which the signer adds.
    pub headers: &'a [(String, String)],
    /// The body bytes.
    pub body: &'a [u8],
}

/// What a signature is scoped to.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The service's signing name, e.g. `bedrock`.
    pub service: &'a str,
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
}

/// Signs `request` at `time`: returns the headers to add (`x-amz-date`, the session token when
/// there is one, and `authorization`).
pub fn sign(
    request: &SignableRequest<'_>,
    credentials: &AwsCredentials,
    scope: Scope<'_>,
    time: SystemTime,
) -> Vec<(&'static str, String)> {
    let timestamp = amz_date(time);
    let date = &timestamp[..8];
    let mut added = vec![("x-amz-date", timestamp.clone())];
    if let Some(token) = &credentials.session_token {
        added.push(("x-amz-security-token", token.clone()));
    }

    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), canonical_value(value)))
        .chain(std::iter::once(("host".to_owned(), host(request.url))))
        .chain(added.iter().map(|(n, v)| ((*n).to_owned(), v.clone())))
        .collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut canonical_headers = String::new();
    let mut signed_headers: Vec<&str> = Vec::new();
    for (name, value) in &headers {
        if signed_headers.last() == Some(&name.as_str()) {
            // A repeated header: its values are joined with commas, in order.
            canonical_headers.pop();
            canonical_headers.push(',');
        } else {
            canonical_headers.push_str(name);
            canonical_headers.push(':');
            signed_headers.push(name);
        }
        canonical_headers.push_str(value);
        canonical_headers.push('\n');
    }
    let signed_headers = signed_headers.join(";");

    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        canonical_uri(request.url),
        canonical_query(request.url),
        canonical_headers,
        signed_headers,
        hex_sha256(request.body),
    );
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{timestamp}\n{credential_scope}\n{}",
        hex_sha256(canonical_request.as_bytes())
    );
    let key = signing_key(&credentials.secret_access_key, date, scope);
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    added.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key_id
        ),
    ));
    added
}

/// The derived key: HMACs of date, region, service and `aws4_request`, keyed from the secret.
fn signing_key(secret: &str, date: &str, scope: Scope<'_>) -> Vec<u8> {
    let key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let key = hmac(&key, scope.region.as_bytes());
    let key = hmac(&key, scope.service.as_bytes());
    hmac(&key, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `host` as sent: the port only when it is not the scheme's default.
fn host(url: &Url) -> String {
    let name = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{name}:{port}"),
        None => name.to_owned(),
    }
}

/// Trims a header value and collapses its runs of spaces.
fn canonical_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The path, URI-encoded once more (the URL's path is already encoded: AWS signs it twice
/// encoded for every service but S3).
fn canonical_uri(url: &Url) -> String {
    match url.path() {
        "" => "/".to_owned(),
        path => uri_encode(path, false),
    }
}

/// Query parameters, each name and value URI-encoded, sorted.
fn canonical_query(url: &Url) -> String {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| (uri_encode(&name, true), uri_encode(&value, true)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// AWS's URI encoding: every byte but the unreserved ones (and `/` unless `slash`) as `%XX`.
fn uri_encode(text: &str, slash: bool) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) || (byte == b'/' && !slash) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `YYYYMMDDTHHMMSSZ` in UTC.
fn amz_date(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// The Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    //! Vectors from AWS's Signature Version 4 test suite (`aws-sig-v4-test-suite`) and the IAM
    //! example in the AWS General Reference: credentials `AKIDEXAMPLE` at 2015-08-30 12:36:00 UTC.

    use std::time::Duration;

    use super::*;

    fn example_credentials(session_token: Option<&str>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".to_owned(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
            session_token: session_token.map(str::to_owned),
        }
    }

    /// 2015-08-30T12:36:00Z.
    fn example_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn authorization(
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        scope: Scope<'_>,
    ) -> String {
        let url = Url::parse(url).expect("a valid URL");
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let request = SignableRequest {
            method,
            url: &url,
            headers: &headers,
            body,
        };
        let added = sign(&request, &example_credentials(None), scope, example_time());
        assert_eq!(added[0], ("x-amz-date", "20150830T123600Z".to_owned()));
        added
            .into_iter()
            .find(|(name, _)| *name == "authorization")
            .map(|(_, value)| value)
            .expect("an authorization header")
    }

    const SUITE: Scope<'static> = Scope {
        service: "service",
        region: "us-east-1",
    };

    #[test]
    fn get_vanilla() {
        assert_eq!(
            authorization("GET", "https://example.amazonaws.com/", &[], b"", SUITE),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case() {
        assert_eq!(
            authorization(
                "GET",
                "https://example.amazonaws.com/?Param2=value2&Param1=value1",
                &[],
                b"",
                SUITE
            ),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn post_vanilla() {
        assert_eq!(
            authorization("POST", "https://example.amazonaws.com/", &[], b"", SUITE),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
    }

    #[test]
    fn post_x_www_form_urlencoded() {
        assert_eq!(
            authorization(
                "POST",
                "https://example.amazonaws.com/",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                b"Param1=value1",
                SUITE
            ),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    #[test]
    fn iam_list_users_example() {
        assert_eq!(
            authorization(
                "GET",
                "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
                &[(
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8"
                )],
                b"",
                Scope {
                    service: "iam",
                    region: "us-east-1"
                }
            ),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn a_session_token_is_added_and_signed() {
        let url =
            Url::parse("https://bedrock-runtime.us-east-1.amazonaws.com/model/m%3A0/converse")
                .expect("a valid URL");
        let request = SignableRequest {
            method: "POST",
            url: &url,
            headers: &[],
            body: b"{}",
        };
        let added = sign(
            &request,
            &example_credentials(Some("TOKEN")),
            Scope {
                service: "bedrock",
                region: "us-east-1",
            },
            example_time(),
        );
        assert_eq!(added[1], ("x-amz-security-token", "TOKEN".to_owned()));
        assert!(
            added[2]
                .1
                .contains("SignedHeaders=host;x-amz-date;x-amz-security-token,")
        );
    }

    #[test]
    fn paths_are_encoded_twice_and_dates_are_gregorian() {
        let url = Url::parse("https://h/model/anthropic.claude-v2%3A1/converse-stream")
            .expect("a valid URL");
        assert_eq!(
            canonical_uri(&url),
            "/model/anthropic.claude-v2%253A1/converse-stream"
        );
        assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
        // 2024-02-29T23:59:59Z, a leap day.
        assert_eq!(
            amz_date(UNIX_EPOCH + Duration::from_secs(1_709_251_199)),
            "20240229T235959Z"
        );
    }
}
