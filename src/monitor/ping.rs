//! `--ping URL`, healthchecks.io's protocol (<https://healthchecks.io/docs/http_api/>):
//! `URL/start` when the run starts, then `URL` when it ends well (exit 0, or 3 with progress:
//! a backlog draining under the invite cap) or `URL/<exit code>` when not, each with
//! `?rid=<run id>` so that the service pairs a start with its end and times the run. The body
//! of the end ping is the run's one-line account, which the service shows in its log.

use url::Url;

use crate::history::{Record, State};

/// `URL/start?rid=…`.
pub(super) async fn start(http: &reqwest::Client, url: &Url, run_id: &str) {
    send(http, at(url, Some("start"), run_id), String::new()).await;
}

/// The end: `URL?rid=…` when the job is ok, `URL/<code>?rid=…` when it is failing.
pub(super) async fn end(http: &reqwest::Client, url: &Url, run_id: &str, exit_code: u8, state: State, record: &Record) {
    let code = exit_code.to_string();
    let signal = match state {
        State::Ok => None,
        State::Failing => Some(code.as_str()),
    };
    send(http, at(url, signal, run_id), body(record)).await;
}

/// The ping URL with `/last` appended to its path (the service's own query kept) and the
/// run's id.
fn at(url: &Url, last: Option<&str>, run_id: &str) -> Url {
    let mut url = url.clone();
    if let Some(last) = last
        && let Ok(mut path) = url.path_segments_mut()
    {
        path.pop_if_empty().push(last);
    }
    url.query_pairs_mut().append_pair("rid", run_id);
    url
}

/// The run's account in one line: what the service's log shows beside the ping.
fn body(record: &Record) -> String {
    let counts: Vec<String> = record
        .counts
        .iter()
        .map(|(status, n)| format!("{n} {status}"))
        .collect();
    let mut text = format!("{} {}: exit {}", record.command, record.job, record.exit_code);
    if !counts.is_empty() {
        text.push_str(&format!("; {}", counts.join(", ")));
    }
    for said in [&record.stopped, &record.error].into_iter().flatten() {
        text.push_str(&format!("; {said}"));
    }
    text
}

/// One ping, bounded by the client's timeout; a failure is a warning.
async fn send(http: &reqwest::Client, url: Url, body: String) {
    let failed = |why: String| tracing::warn!("could not ping {} ({why})", super::http::host(&url));
    match http.post(url.clone()).body(body).send().await {
        Ok(answer) if answer.status().is_success() => {}
        Ok(answer) => failed(format!("it answered {}", answer.status())),
        Err(e) => failed(crate::words::chain(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_and_exit_code_go_after_the_path_and_the_run_id_in_the_query() {
        let url = Url::parse("https://hc-ping.com/abc/").unwrap();
        assert_eq!(
            at(&url, Some("start"), "r1").as_str(),
            "https://hc-ping.com/abc/start?rid=r1"
        );
        assert_eq!(at(&url, None, "r1").as_str(), "https://hc-ping.com/abc/?rid=r1");
        let slug = Url::parse("https://hc-ping.com/key/nightly?create=1").unwrap();
        assert_eq!(
            at(&slug, Some("1"), "r2").as_str(),
            "https://hc-ping.com/key/nightly/1?create=1&rid=r2"
        );
    }
}
