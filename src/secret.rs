//! The access token as a value that cannot leak by accident: no `Display`, a redacted `Debug`,
//! and every secret of the run remembered so that text from outside (a server or proxy that
//! echoes the Authorization header) can be scrubbed of it before it is shown or stored.

use std::fmt;
use std::sync::{Arc, RwLock};

use secrecy::{ExposeSecret, SecretString};

/// Every secret this process has held. Global on purpose: text from a server can reach an
/// error message by many paths, and each must be able to scrub it without threading the token.
static KNOWN: RwLock<Vec<Arc<str>>> = RwLock::new(Vec::new());

/// Shorter values are not scrubbed: they would blank out ordinary words.
const MIN_SCRUBBED: usize = 6;

/// Remembers a secret obtained at run time (an OAuth access token) so [`redact`] removes it.
pub fn remember(value: &str) {
    let value = value.trim();
    if value.len() >= MIN_SCRUBBED {
        let mut known = KNOWN.write().unwrap_or_else(|p| p.into_inner());
        if !known.iter().any(|k| &**k == value) {
            known.push(Arc::from(value));
        }
    }
}

/// The text with every remembered secret replaced by `[redacted]`, whatever its case: a
/// server or proxy may echo the token upper-cased (`BEARER ABC...` in an error page), and a
/// token that differs only in case is still the token to anyone who reads it. Case is folded
/// for ASCII letters only, which keeps every byte where it was (tokens are header values, so
/// ASCII).
pub fn redact(text: &str) -> String {
    let known = KNOWN.read().unwrap_or_else(|p| p.into_inner());
    if known.is_empty() {
        return text.to_string();
    }
    let mut text = text.to_string();
    for secret in known.iter() {
        let folded = text.to_ascii_lowercase();
        let needle = secret.to_ascii_lowercase();
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(at) = folded[from..].find(&needle) {
            found.push(from + at);
            from += at + needle.len();
        }
        // From the end, so that the earlier positions stay where they were.
        for at in found.into_iter().rev() {
            text.replace_range(at..at + needle.len(), "[redacted]");
        }
    }
    text
}

/// A secret string (the API token, a client secret): `secrecy`'s, so it is wiped from memory
/// when dropped and never shown by `Debug`; read it only where it goes on the wire, via
/// [`Secret::expose`]. Creating one also remembers it for [`redact`].
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret. Surrounding white space (a trailing newline in a token file) is dropped.
    pub fn new(value: &str) -> Self {
        remember(value);
        Secret(SecretString::from(value.trim()))
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("  abc.def.ghi\n");
        assert_eq!(secret.expose(), "abc.def.ghi");
        let shown = format!("{secret:?} {secret:#?}");
        assert!(!shown.contains("abc"), "{shown}");
        assert_eq!(
            redact("echo: Bearer abc.def.ghi, again abc.def.ghi"),
            "echo: Bearer [redacted], again [redacted]"
        );
        assert_eq!(
            redact("BEARER ABC.DEF.GHI or Abc.Def.Ghi, é abc.def.ghiabc.def.ghi"),
            "BEARER [redacted] or [redacted], é [redacted][redacted]"
        );
    }
}

/// When a token that is a JWT says it expires (its payload's `exp`, seconds since the epoch);
/// `None` for any other token (an opaque one, or a JWT without `exp`). The signature is not
/// checked: this only tells a person ahead of time, and the server decides.
pub fn jwt_expiry(token: &Secret) -> Option<std::time::SystemTime> {
    use base64::Engine;
    let mut parts = token.expose().split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims
        .get("exp")?
        .as_f64()
        .filter(|exp| exp.is_finite() && *exp >= 0.0)?;
    // A year 10000 `exp` is as good as never.
    let exp = exp.min(253_402_300_799.0);
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs_f64(exp))
}

/// What to tell a person about a token that expires within `warn_within` of `now` (or has
/// expired), with when, in their words; `None` when it is not a JWT or has long to live.
pub fn expiry_warning(token: &Secret, now: std::time::SystemTime, warn_within: std::time::Duration) -> Option<String> {
    let expires = jwt_expiry(token)?;
    let date = humantime::format_rfc3339_seconds(expires);
    let renew = "get a new personal access token in Tallyfy (Settings > Integrations > REST API), or use client credentials for unattended runs";
    match expires.duration_since(now) {
        Err(_) => Some(format!("the token expired at {date}: {renew}")),
        Ok(left) if left <= warn_within => {
            let days = left.as_secs() / 86_400;
            let when = match days {
                0 => "within a day".to_string(),
                1 => "in 1 day".to_string(),
                n => format!("in {n} days"),
            };
            Some(format!("the token expires {when} ({date}): {renew}"))
        }
        Ok(_) => None,
    }
}

#[cfg(test)]
mod jwt_tests {
    use super::*;
    use base64::Engine;

    fn jwt(claims: &str) -> Secret {
        let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        Secret::new(&format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(claims)))
    }

    #[test]
    fn a_jwt_that_expires_soon_is_named_and_an_opaque_token_is_not() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let two_weeks = std::time::Duration::from_secs(14 * 86_400);
        let soon = jwt(r#"{"sub":"1","exp":1800259200}"#);
        let said = expiry_warning(&soon, now, two_weeks).unwrap();
        assert!(said.starts_with("the token expires in 3 days (2027-01-18T"), "{said}");
        let later = jwt(r#"{"exp":1900000000}"#);
        assert_eq!(expiry_warning(&later, now, two_weeks), None);
        let gone = jwt(r#"{"exp":1700000000}"#);
        assert!(
            expiry_warning(&gone, now, two_weeks)
                .unwrap()
                .starts_with("the token expired at")
        );
        assert_eq!(expiry_warning(&Secret::new("opaque-token-123"), now, two_weeks), None);
        assert_eq!(expiry_warning(&jwt(r#"{"sub":"1"}"#), now, two_weeks), None);
        assert_eq!(expiry_warning(&jwt(r#"{"exp":1e400}"#), now, two_weeks), None);
    }
}
