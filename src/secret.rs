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
