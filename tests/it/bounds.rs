//! Every wait is bounded (issue 22, principle 7) and what the server sends is kept honestly
//! (principle 8): 429 storms end at `--max-wait`, a list that never ends stops at
//! `--max-guests`, FIFOs and token sources time out and yield to signals, a secret echoed in
//! another case is scrubbed, ids beyond 2^64 are kept as their digits.

use std::time::{Duration, Instant};

use tallyfy_guests::sandbox::DEFAULT_ORG;

use crate::hostile::guests_csv;
use crate::rogue::{self, Reply};
use crate::util::{bin, expect_exit, result_rows, write};

const TOKEN: &str = "bounds-token-abcdef0123";

fn against_rogue(server: &rogue::Rogue) -> assert_cmd::Command {
    let mut cmd = bin();
    cmd.env("TALLYFY_BASE_URL", server.base_url())
        .env("TALLYFY_ORG_ID", DEFAULT_ORG)
        .env("TALLYFY_ACCESS_TOKEN", TOKEN);
    cmd
}

#[test]
fn a_storm_of_retry_after_zero_ends_within_max_wait() {
    // Every request, the list walk included, is told "429, come back at once".
    let server = rogue::start(|_| Reply::Json(429, vec![("retry-after", "0".into())], "{}".into()));
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(5));
    let started = Instant::now();
    let stderr = expect_exit(
        against_rogue(&server).args(["import", "--max-wait", "2s"]).arg(&file),
        3,
    );
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    assert!(stderr.contains("--max-wait"), "{stderr}");
    // Past the list walk too: a server that answers the list lets the creates meet the storm.
    let server = rogue::start(|request| match request.method.as_str() {
        "GET" => Reply::Json(200, vec![], rogue::page(0, 0, 0, 1, 1)),
        _ => Reply::Json(429, vec![("retry-after", "0".into())], "{}".into()),
    });
    let started = Instant::now();
    let stderr = expect_exit(
        against_rogue(&server).args(["import", "--max-wait", "2s"]).arg(&file),
        3,
    );
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    let rows = result_rows(&dir.path().join("guests.results.csv"));
    assert_eq!(rows.len(), 5, "{stderr}");
    assert!(rows.iter().all(|r| r.result_status == "deferred"), "{rows:?}");
}

#[test]
fn a_token_echoed_in_another_case_is_never_shown_or_stored() {
    let shout = TOKEN.to_uppercase();
    let mixed: String = TOKEN
        .chars()
        .enumerate()
        .map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c })
        .collect();
    // Creates fail with a 500 that echoes the header upper-cased; read-backs with mixed case.
    let server = {
        let (shout, mixed) = (shout.clone(), mixed.clone());
        rogue::start(move |request| match request.method.as_str() {
            "GET" if request.target.contains("/guests?") => Reply::Json(200, vec![], rogue::page(0, 0, 0, 1, 1)),
            "GET" => Reply::Json(500, vec![], format!(r#"{{"message": "upstream said BEARER {mixed}"}}"#)),
            _ => Reply::Json(
                500,
                vec![],
                format!(r#"{{"message": "bad AUTHORIZATION: BEARER {shout}"}}"#),
            ),
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "guests.csv", &guests_csv(3));
    let summary = dir.path().join("s.json");
    let output = against_rogue(&server)
        .args(["import", "--max-retries", "0", "--summary-json"])
        .arg(&summary)
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let results = std::fs::read_to_string(dir.path().join("guests.results.csv")).unwrap();
    assert!(
        results.contains("[redacted]"),
        "the echo reached the results: {results}"
    );
    // A 401 that echoes it: the run stops at once, naming no token.
    let denied = {
        let shout = shout.clone();
        rogue::start(move |_| Reply::Json(401, vec![], format!(r#"{{"message": "token {shout} is not valid"}}"#)))
    };
    let refused = against_rogue(&denied).arg("import").arg(&file).output().unwrap();
    let refused = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(refused.contains("[redacted]"), "{refused}");
    let texts = [stderr, results, std::fs::read_to_string(&summary).unwrap(), refused];
    for text in &texts {
        assert!(
            !text.to_lowercase().contains(&TOKEN.to_lowercase()),
            "the token leaked in another case: {text:.600}"
        );
    }
}

#[test]
fn ids_beyond_2_to_the_64_are_kept_as_their_digits() {
    const BIG: &str = "10000000000000000000000000000000000000000";
    const BIGGER: &str = "340282366920938463463374607431768211457";
    let list = format!(
        r#"{{"data": [{{"id": {BIG}, "email": "row0@example.org", "first_name": "Row0"}},
            {{"id": "0042", "email": "old@example.org", "first_name": "Old"}}],
           "meta": {{"pagination": {{"total": 2, "count": 2, "per_page": 100, "current_page": 1, "total_pages": 1}}}}}}"#
    );
    let server = rogue::start(move |request| match request.method.as_str() {
        "GET" => Reply::Json(200, vec![], list.clone()),
        _ => Reply::Json(201, vec![], format!(r#"{{"data": {{"id": {BIGGER}, "email": "x"}}}}"#)),
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "guests.csv",
        "email,first_name\nrow0@example.org,Row0\nold@example.org,Old\nnew@example.org,New\n",
    );
    expect_exit(against_rogue(&server).arg("import").arg(&file), 0);
    let rows = result_rows(&dir.path().join("guests.results.csv"));
    let ids: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.result_status.as_str(), r.result_guest_id.as_str()))
        .collect();
    assert_eq!(ids, [("exists", BIG), ("exists", "0042"), ("created", BIGGER)]);
    let out = dir.path().join("export.csv");
    expect_exit(against_rogue(&server).args(["export", "--output"]).arg(&out), 0);
    let export = std::fs::read_to_string(&out).unwrap();
    assert!(export.contains(BIG) && export.contains("0042"), "{export}");
    assert!(!export.contains("e+") && !export.contains("e40"), "{export}");
}
