//! What can be wrong with the flags, the environment and the files they name, found before
//! anything is sent (exit 2). The settings the API client itself refuses (an organization id,
//! a base URL, a token no header can carry) are `api::settings::SettingError`, reported here
//! among the rest.

use std::path::PathBuf;

use super::env::{CLIENT_SECRET_ENV, TOKEN_ENV};
use crate::api::settings::SettingError;

/// A problem with flags, environment or files, found before anything is sent (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no organization id: pass --org ORG or set TALLYFY_ORG_ID")]
    /// No organization id anywhere.
    MissingOrg,
    /// `TALLYFY_ACCESS_TOKEN` and `TALLYFY_API_TOKEN` both set, to different tokens.
    #[error("TALLYFY_ACCESS_TOKEN and TALLYFY_API_TOKEN are both set, to different tokens: unset one")]
    TwoTokens,
    /// `--token-file` and `--token-command` together.
    #[error("--token-file and --token-command both give the token: use one")]
    TwoTokenSources,
    /// `--token-command` did not give a token.
    #[error("--token-command did not give a token: {0}")]
    TokenCommand(String),
    /// A `sandbox` flag that cannot be used (its guests file, an empty token).
    #[error("{0}")]
    Sandbox(String),
    /// More than one of the above, all reported at once.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<ConfigError>),
    /// An organization id, base URL or token the API client cannot use.
    #[error(transparent)]
    Setting(#[from] SettingError),
    #[error(
        "no access token: set {TOKEN_ENV} or pass --token-file PATH, or use client credentials (TALLYFY_CLIENT_ID and {CLIENT_SECRET_ENV} or --client-secret-file); there is no flag for a secret itself, so it never shows in `ps`"
    )]
    /// Neither a token nor client credentials.
    MissingToken,
    #[error("client credentials need a secret: set {CLIENT_SECRET_ENV} or pass --client-secret-file PATH")]
    /// A client id without its secret.
    MissingClientSecret,
    #[error("a client secret is set but no client id: set TALLYFY_CLIENT_ID or pass --client-id")]
    /// A client secret without its id.
    MissingClientId,
    #[error(
        "both an access token and client credentials are configured: use one (unset {TOKEN_ENV} and drop --token-file, or unset TALLYFY_CLIENT_ID)"
    )]
    /// A token and client credentials at once.
    BothCredentials,
    #[error("the client secret file {} is empty", .0.display())]
    /// An empty client secret file.
    EmptySecretFile(PathBuf),
    #[error("the token file {} is larger than 16 KiB: is it really a token? (a token is about 1 KiB)", .0.display())]
    /// A token file too large to be a token.
    HugeSecretFile(PathBuf),
    #[error("the token file {} is empty", .0.display())]
    /// An empty token file.
    EmptyTokenFile(PathBuf),
    #[error("cannot read the token file {}: {}", path.display(), crate::words::io_words(.error))]
    /// A token file that cannot be read.
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        error: std::io::Error,
    },
}

impl ConfigError {
    /// Each problem on its own, for a report of one line each.
    pub fn problems(&self) -> Vec<String> {
        match self {
            ConfigError::Several(all) => all.iter().map(ToString::to_string).collect(),
            one => vec![one.to_string()],
        }
    }

    /// Only credentials or the organization are missing: a dry run can go on offline.
    pub fn only_missing_credentials(&self) -> bool {
        match self {
            ConfigError::MissingOrg | ConfigError::MissingToken => true,
            ConfigError::Several(all) => all.iter().all(ConfigError::only_missing_credentials),
            _ => false,
        }
    }

    /// Token bytes that are not text: no HTTP header could carry them.
    pub(super) fn bad_token() -> Self {
        ConfigError::Setting(SettingError::BadToken)
    }
}
