//! How an unattended run is watched, checked from `--job`, `--notify`, `--ping`,
//! `--metrics-file` and `--state-dir`: the [`Monitor`] that `monitor` acts on when a run starts
//! and ends. A URL that is not http(s) is a set-up problem in words (exit 2), found before
//! anything is sent.

use std::path::PathBuf;

use url::Url;

use crate::cli::{ApiArgs, MonitorArgs};

/// The watchers of one run, checked.
#[derive(Debug, Clone, Default)]
pub struct Monitor {
    /// `--job`: the job's name (else its organization and results file name it).
    pub job: Option<String>,
    /// `--notify`: where a change of the job's state is posted.
    pub notify: Option<Url>,
    /// `--ping`: the healthchecks-style check's URL.
    pub ping: Option<Url>,
    /// `--metrics-file`: the Prometheus textfile.
    pub metrics_file: Option<PathBuf>,
    /// Where the run history is kept (`--state-dir`, else the user's state folder); `None`
    /// when the platform has none.
    pub history_dir: Option<PathBuf>,
}

/// The monitoring flags, checked: the monitor, and what is wrong with them in words.
pub(super) fn monitor(args: &MonitorArgs, api: &ApiArgs) -> (Monitor, Vec<String>) {
    let mut problems = Vec::new();
    let mut url = |given: &Option<String>, flag: &str| {
        let given = given.as_deref()?;
        match check_url(given) {
            Ok(url) => Some(url),
            Err(why) => {
                problems.push(format!("{flag} {given}: {why}"));
                None
            }
        }
    };
    let notify = url(&args.notify, "--notify");
    let ping = url(&args.ping, "--ping");
    let job = args.job.as_deref().map(str::trim).filter(|name| !name.is_empty());
    if args.job.is_some() && job.is_none() {
        problems.push("--job needs a name: leave it out to name the job by its results file".into());
    }
    let monitor = Monitor {
        job: job.map(str::to_string),
        notify,
        ping,
        metrics_file: args.metrics_file.clone(),
        history_dir: history_dir(api.state_dir.as_deref()),
    };
    (monitor, problems)
}

/// Where the history is kept: the given state folder, else the user's (`$XDG_STATE_HOME` or
/// `~/.local/state`, the local data folder where the platform has no state folder), in
/// `tallyfy-guests`.
pub fn history_dir(given: Option<&std::path::Path>) -> Option<PathBuf> {
    match given.filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) => Some(dir.to_path_buf()),
        None => Some(dirs::state_dir().or_else(dirs::data_local_dir)?.join("tallyfy-guests")),
    }
}

/// An http(s) URL with a host; its words otherwise.
fn check_url(given: &str) -> Result<Url, String> {
    let url = Url::parse(given.trim()).map_err(|e| format!("is not a URL ({e}): give it as https://host/path"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("is not an http or https URL: give it as https://host/path".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_with_a_host_are_taken() {
        assert!(check_url("https://hc-ping.com/abc").is_ok());
        assert!(check_url("http://127.0.0.1:9/x?create=1").is_ok());
        assert!(check_url("ftp://example.com/x").unwrap_err().contains("http or https"));
        assert!(check_url("hc-ping.com/abc").unwrap_err().contains("not a URL"));
    }
}
