//! One engine, two faces (issue 25): the same file imported by the CLI (`import --sandbox
//! --results …`) and through the page (`ui --sandbox`, upload, send, confirm, the results
//! download) gives the same results file, column for column and byte for byte, except the few
//! cells that name the run itself.

use super::server::Ui;
use super::{mixed_rows, workbook};

/// Cells that must differ between two runs, blanked before the comparison:
/// - `result_api`: each face starts its own built-in sandbox, on its own free port;
/// - `result_run_started`, `result_at`: the server's clock at the run's start and at the row's
///   last answer;
/// - `result_created_at`: the guest's creation time, on the sandbox's clock (two runs may
///   straddle a second);
/// - `result_of`: it says when the run finished.
/// - `result_guest_id` of `created` rows only: the sandbox numbers new guests in the order the
///   creates arrive, and creates go out concurrently, so which new guest gets which number is
///   the network's choice (the id of an `exists` row is the seeded guest's, and is compared).
const RUN_CELLS: [&str; 5] = [
    "result_api",
    "result_run_started",
    "result_at",
    "result_created_at",
    "result_of",
];

/// The file's header line (bytes, byte order mark included) and its records with the cells
/// above blanked.
fn comparable(bytes: &[u8]) -> (Vec<u8>, Vec<csv::ByteRecord>) {
    let header_line = bytes.split(|&b| b == b'\n').next().unwrap().to_vec();
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let header = reader.byte_headers().unwrap().clone();
    let at = |name: &str| {
        header
            .iter()
            .position(|h| h == name.as_bytes())
            .unwrap_or_else(|| panic!("no {name} column"))
    };
    let run_cells: Vec<usize> = RUN_CELLS.iter().map(|name| at(name)).collect();
    let (status, id) = (at("result_status"), at("result_guest_id"));
    let records = reader
        .byte_records()
        .map(|record| {
            let record = record.unwrap();
            let created = &record[status] == b"created";
            record
                .iter()
                .enumerate()
                .map(|(i, cell)| {
                    let blank = run_cells.contains(&i) || (created && i == id);
                    if blank && !cell.is_empty() { &b"<run>"[..] } else { cell }
                })
                .collect()
        })
        .collect();
    (header_line, records)
}

#[tokio::test]
async fn the_cli_and_the_page_write_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("guests.xlsx");
    workbook(&sheet, &mixed_rows());

    // The CLI: exit 1, since the sheet has an invalid row on purpose.
    let cli_results = dir.path().join("cli.results.csv");
    let output = crate::util::process_against_nothing()
        .args(["import"])
        .arg(&sheet)
        .args(["--sandbox", "--results"])
        .arg(&cli_results)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cli = std::fs::read(&cli_results).unwrap();

    // The page: the same file uploaded, sent and confirmed; its results downloaded.
    let ui = Ui::start(dir.path(), None, &[]);
    let mut http = ui.http();
    http.login().await;
    let id = http
        .import("guests.xlsx", &std::fs::read(&sheet).unwrap(), crate::util::GENEROUS)
        .await;
    let answer = http.get(&format!("/runs/{}/results.csv", id)).await;
    assert_eq!(answer.status, reqwest::StatusCode::OK, "{}", answer.text());
    let page = answer.body.clone();

    let (cli_header, cli_rows) = comparable(&cli);
    let (page_header, page_rows) = comparable(&page);
    assert_eq!(
        String::from_utf8_lossy(&page_header),
        String::from_utf8_lossy(&cli_header),
        "the same header, byte for byte"
    );
    assert_eq!(page_rows.len(), mixed_rows().len(), "every row, and nothing else");
    for (page_row, cli_row) in page_rows.iter().zip(&cli_rows) {
        assert_eq!(page_row, cli_row, "page vs CLI");
    }
    assert_eq!(page_rows.len(), cli_rows.len());
    // The blanked cells are there in both, not missing: both runs finished, so both stamped
    // every row's `result_of`.
    assert!(
        page_rows.iter().chain(&cli_rows).all(|r| &r[12] == b"<run>"),
        "every row of both carries its result_of"
    );
    let statuses: Vec<&[u8]> = page_rows.iter().map(|r| &r[1]).collect();
    assert!(
        statuses.contains(&&b"created"[..]) && statuses.contains(&&b"invalid"[..]),
        "{statuses:?}"
    );
}
