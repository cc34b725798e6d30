//! The sysadmin's nightly loop (issue 34): one job run night after night against the sandbox,
//! with its history, the alert on a change of state (`--notify`), healthchecks-style pings
//! (`--ping`) and the Prometheus textfile (`--metrics-file`), each checked by a loopback
//! receiver or a reader of its own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use crate::util::{Workspace, expect_exit};

/// One request a receiver took: method, path and query, body.
#[derive(Debug, Clone)]
struct Got {
    method: String,
    target: String,
    body: String,
}

/// A loopback HTTP receiver that keeps every request and answers with `status` (changeable).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (kept, answer) = (got.clone(), status.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (kept, answer) = (kept.clone(), answer.clone());
                std::thread::spawn(move || serve(stream, &kept, &answer));
            }
        });
        Receiver { url, got, status }
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// One request on a connection (the client is told to close it), kept, then answered.
fn serve(stream: std::net::TcpStream, kept: &Mutex<Vec<Got>>, answer: &AtomicU16) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        assert!(
            !header.to_ascii_lowercase().starts_with("authorization"),
            "a watcher was sent credentials: {header}"
        );
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    kept.lock().unwrap().push(Got {
        method,
        target,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let status = answer.load(Ordering::Relaxed);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nOK"
    );
}

const GOOD: &str = "email,first_name\nana@example.com,Ana\nbo@example.com,Bo\n";
const BAD: &str = "email,first_name\nana@example.com,Ana\nbo@example.com,Bo\nnot-an-email,Cy\n";

/// The metrics file, parsed: every sample by name and status label.
fn parse_metrics(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).expect("Prometheus text")
}

/// The gauge `name`'s one value (for the job's own labels).
fn gauge(scrape: &prometheus_parse::Scrape, name: &str) -> f64 {
    let sample = (scrape.samples.iter())
        .find(|sample| sample.metric == name)
        .unwrap_or_else(|| panic!("no {name}"));
    match sample.value {
        prometheus_parse::Value::Gauge(value) | prometheus_parse::Value::Untyped(value) => value,
        ref other => panic!("{name} is not a gauge: {other:?}"),
    }
}

#[test]
fn four_nights_ok_fail_fail_ok_alert_twice_ping_four_times_and_keep_whole_metrics() {
    let ws = Workspace::empty();
    let (notify, ping) = (Receiver::start(), Receiver::start());
    let metrics = ws.path("metrics/tallyfy.prom");
    std::fs::create_dir_all(metrics.parent().unwrap()).unwrap();
    let state = ws.path("state");
    // A reader beside the runs, as node_exporter scrapes: every read is a whole file.
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (metrics, done) = (metrics.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) {
                if let Ok(text) = std::fs::read_to_string(&metrics) {
                    let scrape = parse_metrics(&text);
                    assert!(text.ends_with('\n'), "half a file: {text}");
                    // 5 one-sample gauges and a row count for every status.
                    let statuses = tallyfy_guests::engine::Status::all().count();
                    assert_eq!(scrape.samples.len(), 5 + statuses, "half a file: {text}");
                    reads += 1;
                }
            }
            reads
        })
    };
    let nights = [(GOOD, 0), (BAD, 1), (BAD, 1), (GOOD, 0)];
    for (night, (input, exit)) in nights.into_iter().enumerate() {
        ws.write("crm.csv", input);
        let mut cmd = ws.cmd();
        cmd.args([
            "import",
            "crm.csv",
            "--results",
            "crm.results.csv",
            "--job",
            "crm nightly",
        ])
        .args(["--notify", &notify.url, "--ping", &ping.url])
        .arg("--metrics-file")
        .arg(&metrics)
        .arg("--state-dir")
        .arg(&state);
        let stderr = expect_exit(&mut cmd, exit);
        assert!(!stderr.contains("could not"), "night {night}: {stderr}");
        let scrape = parse_metrics(&std::fs::read_to_string(&metrics).unwrap());
        assert_eq!(gauge(&scrape, "tallyfy_guests_last_run_exit_code"), f64::from(exit));
        assert_eq!(gauge(&scrape, "tallyfy_guests_failing"), f64::from(exit));
        assert!(gauge(&scrape, "tallyfy_guests_last_success_timestamp_seconds") > 1.7e9);
    }
    done.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() >= 1, "the reader never read the file");

    // Exactly two alerts: failing (since the second night), then recovered.
    let posts = notify.got();
    assert_eq!(posts.len(), 2, "{posts:#?}");
    let messages: Vec<serde_json::Value> = posts.iter().map(|p| serde_json::from_str(&p.body).unwrap()).collect();
    assert_eq!(messages[0]["event"], "failing");
    assert_eq!(messages[0]["job"], "crm nightly");
    assert_eq!(messages[0]["rows_needing_a_person"][0]["row"], 4);
    assert!(messages[0]["next_command"].as_str().unwrap().contains("--retry-from"));
    assert_eq!(messages[1]["event"], "recovered");
    assert!(messages[1]["text"].as_str().unwrap().contains("has recovered"));

    // Four starts, each followed by its end with the same run id: two ok, two failing (/1).
    let pings = ping.got();
    assert_eq!(pings.len(), 8, "{pings:#?}");
    let path = |got: &Got| got.target.split('?').next().unwrap().to_string();
    let rid = |got: &Got| got.target.split("rid=").nth(1).unwrap().to_string();
    for (night, pair) in pings.chunks(2).enumerate() {
        assert_eq!(path(&pair[0]), "/hook/start", "night {night}");
        assert_eq!(rid(&pair[0]), rid(&pair[1]), "night {night}");
        assert!(pair.iter().all(|got| got.method == "POST"));
    }
    let ends: Vec<String> = pings.iter().skip(1).step_by(2).map(path).collect();
    assert_eq!(ends, ["/hook", "/hook/1", "/hook/1", "/hook"]);

    // The history lists the four runs, newest first.
    let out = ws
        .cmd()
        .args(["history", "--json", "--job", "crm nightly", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    let records: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let exits: Vec<u64> = records.iter().map(|r| r["exit_code"].as_u64().unwrap()).collect();
    assert_eq!(exits, [0, 1, 1, 0]);
    let runs: Vec<&str> = pings
        .iter()
        .step_by(2)
        .map(|got| got.target.split("rid=").nth(1).unwrap())
        .collect();
    let ids: Vec<&str> = records.iter().rev().map(|r| r["run_id"].as_str().unwrap()).collect();
    assert_eq!(ids, runs, "the history's run ids are the pings' rids");
}

#[test]
fn a_failed_alert_keeps_the_exit_code_and_is_sent_at_the_next_run() {
    let ws = Workspace::empty();
    let notify = Receiver::start();
    notify.status.store(500, Ordering::Relaxed);
    let state = ws.path("state");
    ws.write("crm.csv", BAD);
    let run = || {
        let mut cmd = ws.cmd();
        cmd.args(["import", "crm.csv", "--notify", &notify.url, "--state-dir"])
            .arg(&state);
        expect_exit(&mut cmd, 1)
    };
    let stderr = run();
    assert!(
        stderr.contains("could not send the alert that the job is failing"),
        "{stderr}"
    );
    assert!(stderr.contains("the next run sends it again"), "{stderr}");
    assert_eq!(notify.got().len(), 1);
    notify.status.store(200, Ordering::Relaxed);
    let stderr = run();
    assert!(!stderr.contains("could not send"), "{stderr}");
    assert_eq!(notify.got().len(), 2, "sent again at the next run");
    // Told now: a third failing night says nothing.
    run();
    assert_eq!(notify.got().len(), 2, "no alert while nothing changed");
}

#[test]
fn history_lists_people_runs_in_words_and_prunes_by_count() {
    let ws = Workspace::empty();
    let state = ws.path("state");
    ws.write("crm.csv", GOOD);
    for _ in 0..3 {
        let mut cmd = ws.cmd();
        cmd.args(["import", "crm.csv", "--state-dir"]).arg(&state);
        expect_exit(&mut cmd, 0);
    }
    let mut export = ws.cmd();
    export
        .args(["export", "--output", "all.csv", "--state-dir"])
        .arg(&state);
    expect_exit(&mut export, 0);
    let list = |args: &[&str]| {
        let out = ws
            .cmd()
            .arg("history")
            .args(args)
            .arg("--state-dir")
            .arg(&state)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = list(&[]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].contains("export  done (exit 0)") && lines[0].contains("2 exported"),
        "{text}"
    );
    assert!(
        lines[1].contains("import  done (exit 0)") && lines[1].contains("crm.results.csv in "),
        "{text}"
    );
    assert_eq!(list(&["--job", "crm.results.csv"]).lines().count(), 3);
    assert_eq!(list(&["--limit", "2"]).lines().count(), 2);
    let out = ws
        .cmd()
        .args(["history", "--prune", "--keep", "1", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("removed 2 runs"));
    assert_eq!(list(&[]).lines().count(), 2);
    let mut bare = ws.cmd();
    bare.args(["history", "--prune", "--state-dir"]).arg(&state);
    let stderr = expect_exit(&mut bare, 2);
    assert!(stderr.contains("--prune needs what to keep"), "{stderr}");
}

#[test]
fn a_watcher_url_that_is_not_http_is_a_set_up_error() {
    let ws = Workspace::empty();
    ws.write("crm.csv", GOOD);
    let mut cmd = ws.cmd();
    cmd.args(["import", "crm.csv", "--ping", "hc-ping.com/abc"]);
    let stderr = expect_exit(&mut cmd, 2);
    assert!(stderr.contains("--ping hc-ping.com/abc: is not a URL"), "{stderr}");
}
