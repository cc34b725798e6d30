//! What a failed exchange means: a transport error in the retry table's words and in a
//! person's (which host could not be reached, and why), and `Retry-After` read safely.

use std::time::{Duration, SystemTime};

use super::retry::Outcome;

/// Maps a transport error to the retry table's vocabulary. Only a failure to connect proves
/// that nothing was sent; anything later may have reached the server.
pub(super) fn transport_outcome(e: &reqwest::Error) -> Outcome {
    if e.is_connect() {
        Outcome::ConnectFailed
    } else if e.is_timeout() {
        Outcome::TimedOut
    } else {
        Outcome::ConnectionLost
    }
}

/// `host:port` of a request URL, for messages.
pub(super) fn host_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            _ => url.to_string(),
        },
        Err(_) => url.to_string(),
    }
}

/// Why a connection could not be made, in words a person can act on, with what to check: an
/// untrusted certificate names itself and SSL_CERT_FILE (a company's TLS proxy or a private
/// CA), anything else the base URL and the network.
pub(super) fn why_unreachable(e: &reqwest::Error) -> String {
    let text = crate::words::chain(e);
    if let Some(certificate) = certificate_problem(&text) {
        return certificate;
    }
    format!(
        "{}; check TALLYFY_BASE_URL (or --base-url) and the network",
        plain_reason(e, &text)
    )
}

/// What a connection failure that is not about the certificate was.
fn plain_reason(e: &reqwest::Error, text: &str) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut innermost = String::new();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return "the connection was refused (is the host and port right, and the service up?)".into();
                }
                std::io::ErrorKind::TimedOut => return "no answer within --connect-timeout".into(),
                _ => {}
            }
        }
        innermost = cause.to_string();
        source = cause.source();
    }
    let text = text.to_lowercase();
    if text.contains("dns error") || text.contains("lookup address") || text.contains("name or service not known") {
        "the name does not resolve".into()
    } else if text.contains("tls") || text.contains("handshake") {
        format!("the TLS handshake failed ({innermost})")
    } else if e.is_timeout() {
        "no answer within --connect-timeout".into()
    } else {
        match innermost.find(" (os error ") {
            Some(at) => innermost[..at].to_string(),
            None => innermost,
        }
    }
}

/// A certificate the client refused, in words, with the fix; from rustls' own words
/// ("invalid peer certificate: UnknownIssuer", the platform verifier's "certificate is not
/// trusted"), which is all the chain of errors carries of it.
fn certificate_problem(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    if !lower.contains("certificate") {
        return None;
    }
    let trust = "if a company proxy or a private CA signs it, set SSL_CERT_FILE to a PEM file with that CA's certificate (and HTTPS_PROXY to the proxy)";
    let said = if lower.contains("unknownissuer")
        || lower.contains("unknown issuer")
        || lower.contains("not trusted")
        || lower.contains("self-signed")
        || lower.contains("self signed")
        || lower.contains("badsignature")
    {
        format!(
            "its TLS certificate is not trusted: it is signed by a certificate authority this system does not trust; {trust}"
        )
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        "its TLS certificate is not for this host name: check TALLYFY_BASE_URL (or --base-url)".to_string()
    } else if lower.contains("expired") {
        "its TLS certificate has expired (or this machine's clock is wrong): check the date, and the host in TALLYFY_BASE_URL".to_string()
    } else if lower.contains("revoked") {
        "its TLS certificate has been revoked: check TALLYFY_BASE_URL (or --base-url)".to_string()
    } else {
        let detail = text.rsplit(": ").next().unwrap_or(text);
        format!("its TLS certificate was refused ({detail}); {trust}")
    };
    Some(said)
}

/// The error and its causes on one line ("error sending request ...: connection closed ...").
pub(super) fn describe(e: &reqwest::Error) -> String {
    crate::words::chain(e)
}

/// A `Retry-After` is believed up to this long: a week is beyond any `--max-wait`, and no
/// arithmetic on it can overflow.
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3); a past date is zero, and
/// anything longer than `MAX_RETRY_AFTER` (`1e300`, a date in the year 9999) is that.
pub(super) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever a server puts in Retry-After, nothing panics and the wait stays bounded.
        #[test]
        fn any_retry_after_is_a_bounded_wait(text in "\\PC{0,40}", number in proptest::prelude::any::<f64>()) {
            let now = SystemTime::now();
            for value in [text, number.to_string(), format!("{number:e}")] {
                let wait = parse_retry_after(&value, now);
                proptest::prop_assert!(wait.is_none_or(|w| w <= MAX_RETRY_AFTER), "{value}");
            }
        }
    }

    #[test]
    fn an_untrusted_certificate_names_itself_and_ssl_cert_file() {
        let said = certificate_problem(
            "error sending request for url (https://x/api/me): client error (Connect): invalid peer certificate: UnknownIssuer",
        )
        .unwrap();
        assert!(said.starts_with("its TLS certificate is not trusted"), "{said}");
        assert!(said.contains("set SSL_CERT_FILE"), "{said}");
        let name = certificate_problem("invalid peer certificate: NotValidForName").unwrap();
        assert!(name.contains("not for this host name"), "{name}");
        assert_eq!(certificate_problem("connection refused"), None);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = httpdate::parse_http_date("Sun, 22 Nov 2026 10:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 1.5 ", now), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 10:30:00 GMT", now),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("1e300", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("-3", now), None);
    }
}
