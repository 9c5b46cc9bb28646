//! What the mock checks of an AWS Signature Version 4 request (it cannot verify the signature
//! without the secret, which must never reach it): a well-formed `Authorization` header for
//! the `bedrock` service whose date matches `x-amz-date` and whose signed headers are present.

/// Why a request's SigV4 signature is malformed, or `Ok` when it is well-formed.
pub fn check_signature(headers: &[(String, String)]) -> Result<(), String> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let date = header("x-amz-date").ok_or("no x-amz-date header")?;
    if !(date.len() == 16
        && date.as_bytes()[8] == b'T'
        && date.ends_with('Z')
        && date[..8]
            .bytes()
            .chain(date[9..15].bytes())
            .all(|b| b.is_ascii_digit()))
    {
        return Err(format!("x-amz-date {date:?} is not YYYYMMDDTHHMMSSZ"));
    }
    let authorization = header("authorization").ok_or("no Authorization header")?;
    let fields = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("Authorization is not AWS4-HMAC-SHA256")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for field in fields.split(", ") {
        match field.split_once('=') {
            Some(("Credential", value)) => credential = Some(value),
            Some(("SignedHeaders", value)) => signed_headers = Some(value),
            Some(("Signature", value)) => signature = Some(value),
            _ => return Err(format!("unexpected Authorization field {field:?}")),
        }
    }
    let credential: Vec<&str> = credential.ok_or("no Credential")?.split('/').collect();
    match credential.as_slice() {
        [key, day, region, "bedrock", "aws4_request"]
            if !key.is_empty() && *day == &date[..8] && !region.is_empty() => {}
        _ => {
            return Err(format!(
                "Credential scope {credential:?} is not <key>/<date>/<region>/bedrock/aws4_request"
            ));
        }
    }
    let signed: Vec<&str> = signed_headers
        .ok_or("no SignedHeaders")?
        .split(';')
        .collect();
    if !signed.is_sorted() || !signed.contains(&"host") || !signed.contains(&"x-amz-date") {
        return Err(format!(
            "SignedHeaders {signed:?} must be sorted and sign host and x-amz-date"
        ));
    }
    if let Some(missing) = signed.iter().find(|name| header(name).is_none()) {
        return Err(format!("signed header {missing} is not in the request"));
    }
    let signature = signature.ok_or("no Signature")?;
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!(
            "Signature {signature:?} is not 64 lower-case hex digits"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &str) -> Vec<(String, String)> {
        vec![
            ("host".to_owned(), "127.0.0.1:1".to_owned()),
            ("x-amz-date".to_owned(), "20260101T000000Z".to_owned()),
            ("authorization".to_owned(), authorization.to_owned()),
        ]
    }

    #[test]
    fn a_well_formed_signature_passes_and_malformed_ones_fail() {
        let signature = "a".repeat(64);
        let good = format!(
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}"
        );
        assert_eq!(check_signature(&headers(&good)), Ok(()));
        for bad in [
            "Bearer secret".to_owned(),
            good.replace("20260101/", "20251231/"),
            good.replace("/bedrock/", "/s3/"),
            good.replace("host;x-amz-date", "x-amz-date;host"),
            good.replace("host;x-amz-date", "content-type;host;x-amz-date"),
            good.replace(&signature, "abc"),
        ] {
            assert!(check_signature(&headers(&bad)).is_err(), "{bad}");
        }
        assert!(check_signature(&headers(&good)[..1]).is_err());
    }
}
