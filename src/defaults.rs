//! Default values shared by the flags (`cli`), the configuration and the sandbox: a leaf, so
//! that each can name them without depending on the others.

/// The documented public base (the Go CLI and SDK use `https://api.tallyfy.com`; same paths).
pub const BASE_URL: &str = "https://go.tallyfy.com/api";
/// The most guests a walk of the guest list reads (`--max-guests`): far above any organization
/// Tallyfy serves (guests are invited one by one, under an hourly cap), and low enough that a
/// server which never stops listing is stopped within minutes (10,000 pages of 100) and a few
/// hundred MB of memory.
pub const MAX_GUESTS: u64 = 1_000_000;
/// The longest rate-limit pause a run sits out unless `--max-wait` says otherwise.
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(600);
/// The org id a sandbox serves unless told otherwise (32 hex characters, like a real one).
pub const SANDBOX_ORG: &str = "5a4db0c5a4db0c5a4db0c5a4db0c5a4d";
/// The token a sandbox accepts unless told otherwise. Not a secret: it opens only the sandbox.
pub const SANDBOX_TOKEN: &str = "sandbox-token";
/// The client id a sandbox's OAuth token endpoint accepts unless told otherwise.
pub const SANDBOX_CLIENT_ID: &str = "sandbox-client";
/// The client secret it accepts unless told otherwise (a fake one, like the token).
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-client-secret";
/// Tallyfy's default cap on guest invites (30 an hour per organization), which the sandbox
/// emulates unless told otherwise (`sandbox --invite-cap off`), so that a trial shows what a
/// real import of more guests than that does.
pub const SANDBOX_INVITE_CAP: &str = "30/h";
