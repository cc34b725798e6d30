//! The access token as a value that cannot leak by accident: no `Display`, a redacted `Debug`.

use std::fmt;
use std::sync::Arc;

/// A secret string (the API token). Read it only where it goes on the wire, via [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret. Surrounding white space (a trailing newline in a token file) is dropped.
    pub fn new(value: &str) -> Self {
        Secret(Arc::from(value.trim()))
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
    }
}
