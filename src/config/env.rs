//! The environment variables the tool reads its Tallyfy settings from, by name: `config` reads
//! them, and its errors name them.

/// The env var holding the access token. There is deliberately no flag for the token itself.
pub const TOKEN_ENV: &str = "TALLYFY_ACCESS_TOKEN";
/// The same token under the name Tallyfy's own CLI reads.
pub const API_TOKEN_ENV: &str = "TALLYFY_API_TOKEN";
/// The OAuth client secret's env var (or `--client-secret-file`); the id is `--client-id` or
/// `TALLYFY_CLIENT_ID`.
pub const CLIENT_SECRET_ENV: &str = "TALLYFY_CLIENT_SECRET";

/// Every environment variable the tool reads its Tallyfy settings from (tests and benchmarks
/// clear them, so a developer's own settings never leak into a run).
pub const ENV_VARS: [&str; 7] = [
    "TALLYFY_ORG_ID",
    "TALLYFY_BASE_URL",
    TOKEN_ENV,
    API_TOKEN_ENV,
    "TALLYFY_CLIENT_ID",
    CLIENT_SECRET_ENV,
    "TALLYFY_TOKEN_URL",
];
