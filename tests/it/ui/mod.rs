//! The `ui` command's page (issue 25): driven in a real headless Chromium over WebDriver, and
//! spoken to over plain HTTP for its security guarantees.

mod browser;
mod harness;
