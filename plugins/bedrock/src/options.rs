//! Operator options of an endpoint (`endpoint.options`), parsed once per request.

use switchyard_sdk::provider::{EndpointSettings, PluginError};

/// The options this adapter understands (see the crate documentation for the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The AWS region the request is signed for.
    pub region: String,
    /// `inferenceConfig.maxTokens` when the request sets no output limit.
    pub default_max_tokens: Option<u64>,
}

impl Options {
    /// Reads the options of `endpoint`. Unknown keys (typos), invalid values and a region that
    /// is neither configured nor in the base URL are an operator configuration error reported as
    /// [`PluginError::Internal`].
    pub fn parse(endpoint: &EndpointSettings) -> Result<Options, PluginError> {
        let mut region = None;
        let mut default_max_tokens = None;
        for (key, value) in &endpoint.options {
            match key.as_str() {
                "region" if is_region(value) => region = Some(value.clone()),
                "default_max_tokens" => {
                    default_max_tokens = Some(
                        value
                            .trim()
                            .parse::<u64>()
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| invalid(key, value))?,
                    );
                }
                "region" => return Err(invalid(key, value)),
                _ => {
                    return Err(PluginError::Internal(format!(
                        "bedrock adapter: unknown endpoint option `{key}`"
                    )));
                }
            }
        }
        let region = region
            .or_else(|| region_from_base_url(&endpoint.base_url))
            .ok_or_else(|| {
                PluginError::Internal(
                    "bedrock adapter: set the `region` option (the base URL does not name one)"
                        .to_owned(),
                )
            })?;
        Ok(Options {
            region,
            default_max_tokens,
        })
    }
}

/// The region of a `https://bedrock-runtime[-fips].<region>.amazonaws.com` base URL.
fn region_from_base_url(base_url: &str) -> Option<String> {
    let host = base_url.split("://").nth(1)?.split(['/', ':']).next()?;
    let rest = host
        .strip_prefix("bedrock-runtime.")
        .or_else(|| host.strip_prefix("bedrock-runtime-fips."))?;
    let (region, domain) = rest.split_once('.')?;
    (domain.starts_with("amazonaws.") && is_region(region)).then(|| region.to_owned())
}

/// Region names are lower-case letters, digits and dashes (`us-east-1`, `eu-central-2`).
fn is_region(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn invalid(key: &str, value: &str) -> PluginError {
    PluginError::Internal(format!(
        "bedrock adapter: invalid value {value:?} for endpoint option `{key}`"
    ))
}

#[cfg(test)]
mod tests {
    use switchyard_sdk::testing::endpoint;

    use super::*;

    #[test]
    fn the_region_comes_from_the_option_or_the_base_url() {
        let from_url = endpoint("https://bedrock-runtime.eu-west-3.amazonaws.com", "m", &[]);
        assert_eq!(
            Options::parse(&from_url).map(|o| o.region).ok(),
            Some("eu-west-3".into())
        );
        let fips = endpoint(
            "https://bedrock-runtime-fips.us-east-1.amazonaws.com/",
            "m",
            &[],
        );
        assert_eq!(
            Options::parse(&fips).map(|o| o.region).ok(),
            Some("us-east-1".into())
        );
        let option = endpoint("http://127.0.0.1:9000", "m", &[("region", "ap-south-1")]);
        assert_eq!(
            Options::parse(&option).map(|o| o.region).ok(),
            Some("ap-south-1".into())
        );
    }

    #[test]
    fn a_missing_region_an_invalid_value_or_a_typo_is_a_configuration_error() {
        for options in [
            &[][..],
            &[("region", "US East")][..],
            &[("regoin", "us-east-1")][..],
            &[("region", "us-east-1"), ("default_max_tokens", "0")][..],
        ] {
            let settings = endpoint("http://127.0.0.1:9000", "m", options);
            assert!(
                matches!(Options::parse(&settings), Err(PluginError::Internal(_))),
                "{options:?}"
            );
        }
    }
}
