//! Case 8: the page's memory against the CLI's on one hostile workbook (issue 33 point 6): a
//! zip of a few hundred KB whose sheet unpacks to about 120 MiB. The CLI's dry run of it, then
//! `ui` uploading it and showing the run's page while its preview runs and after (as an open
//! tab does); each process's peak RSS (wait4). The page may cost at most 10 % more.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{BIN, Row, Sandbox, row, run_client, wait_with_rusage};

/// Data rows of the workbook: about 250 bytes of sheet XML each, some 120 MiB in all (under
/// the reader's 128 MiB a part, so the file is read, not refused).
const ROWS: usize = 500_000;

/// Writes `name`: one sheet, a header and [`ROWS`] identical rows (so it compresses as a bomb
/// does); its size on disk and unpacked, in bytes.
fn bomb(dir: &Path, name: &str) -> (PathBuf, u64, u64) {
    use zip::write::SimpleFileOptions;
    let path = dir.join(name);
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let parts = [
        (
            "[Content_Types].xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/><Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/></Types>".to_string(),
        ),
        (
            "_rels/.rels",
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"{rels}/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>"),
        ),
        (
            "xl/workbook.xml",
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"{rels}\"><sheets><sheet name=\"Guests\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"{rels}/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>"),
        ),
    ];
    let mut unpacked = 0u64;
    for (part, text) in parts {
        zip.start_file(part, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
        unpacked += text.len() as u64;
    }
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    let mut sheet = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>",
    );
    let cells = |r: usize, values: [&str; 4]| {
        let mut line = format!("<row r=\"{r}\">");
        for (column, value) in ["A", "B", "C", "D"].iter().zip(values) {
            line.push_str(&format!(
                "<c r=\"{column}{r}\" t=\"inlineStr\"><is><t>{value}</t></is></c>"
            ));
        }
        line + "</row>"
    };
    sheet.push_str(&cells(1, ["Email", "First Name", "Last Name", "Company"]));
    for r in 2..ROWS + 2 {
        sheet.push_str(&cells(r, ["ada@example.com", "Ada", "Lovelace", "Engines"]));
        if sheet.len() > 1 << 20 {
            zip.write_all(sheet.as_bytes()).unwrap();
            unpacked += sheet.len() as u64;
            sheet.clear();
        }
    }
    sheet.push_str("</sheetData></worksheet>");
    zip.write_all(sheet.as_bytes()).unwrap();
    unpacked += sheet.len() as u64;
    zip.finish().unwrap();
    (path.clone(), std::fs::metadata(&path).unwrap().len(), unpacked)
}

/// One HTTP/1.1 exchange on a connection of its own: the status line, the headers and the body.
fn http(port: u16, head: &str, body: &[u8]) -> (String, String, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let request = format!(
        "{head}\r\nhost: 127.0.0.1:{port}\r\norigin: http://127.0.0.1:{port}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let headers = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = headers.lines().next().unwrap_or_default().to_string();
    (status, headers, answer[split + 4..].to_vec())
}

/// The value of header `name` in `headers`.
fn header<'a>(headers: &'a str, name: &str) -> &'a str {
    headers
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
        })
        .unwrap_or_default()
}

/// `ui` uploads `file` and shows its page until the preview is done, and a few times after;
/// its peak RSS in MB and how long the preview took.
#[allow(clippy::zombie_processes, reason = "reaped by wait_with_rusage (wait4)")]
fn page_preview(dir: &Path, sandbox: &Sandbox, file: &Path) -> (f64, Duration) {
    let runs = dir.join("ui-runs");
    let mut command = Command::new(BIN);
    command
        .args(["--quiet", "ui", "--no-open", "--port", "0", "--dir"])
        .arg(&runs)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env_remove("RUST_LOG");
    for var in tallyfy_guests::config::ENV_VARS {
        command.env_remove(var);
    }
    command.envs(sandbox.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut child = command.spawn().expect("ui starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap();
    std::thread::spawn(move || for _ in lines {});
    let (port, key) = url["http://127.0.0.1:".len()..].split_once("/?key=").unwrap();
    let port: u16 = port.parse().unwrap();
    let (_, headers, _) = http(port, &format!("GET /?key={key} HTTP/1.1"), b"");
    let cookie = header(&headers, "set-cookie").split(';').next().unwrap().to_string();

    let boundary = "bench-boundary-7d3f9a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bomb.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend(std::fs::read(file).unwrap());
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let started = Instant::now();
    let (status, headers, _) = http(
        port,
        &format!("POST /runs HTTP/1.1\r\ncookie: {cookie}\r\ncontent-type: multipart/form-data; boundary={boundary}"),
        &body,
    );
    assert!(status.contains(" 303 "), "{status}");
    let run = header(&headers, "location").to_string();
    let summary = runs.join(run.trim_start_matches("/runs/")).join("preview.summary.json");
    // An open tab: the run's page now and then while the preview runs, and after.
    let mut after = 0;
    let mut took = None;
    while after < 3 {
        let (status, _, _) = http(port, &format!("GET {run} HTTP/1.1\r\ncookie: {cookie}"), b"");
        assert!(status.contains(" 200 "), "{status}");
        if summary.exists() {
            took.get_or_insert_with(|| started.elapsed());
            after += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "the preview never finished"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // SAFETY: the pid is our own child, not reaped yet.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let (_, usage) = wait_with_rusage(child.id() as i32);
    (usage.ru_maxrss as f64 / 1024.0, took.unwrap())
}

pub(super) fn ui_memory(dir: &Path) -> Vec<Row> {
    let (file, size, unpacked) = bomb(dir, "bomb.xlsx");
    let sandbox = Sandbox::start(&[]);
    let results = dir.join("bomb.results.csv");
    let cli = run_client(
        &[
            "--quiet",
            "import",
            "--dry-run",
            file.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ],
        Some(&sandbox),
    );
    assert!(cli.code <= 1, "the CLI's dry run exited {}: {}", cli.code, cli.stderr);
    let (page, took) = page_preview(dir, &sandbox, &file);
    let ratio = page / cli.max_rss_mb;
    vec![row(
        &format!(
            "8. the page's memory: a {:.0} KB workbook unpacking to {:.0} MiB ({ROWS} rows)",
            size as f64 / 1024.0,
            unpacked as f64 / (1024.0 * 1024.0)
        ),
        format!(
            "ui peak RSS {page:.0} MB (preview {:.1} s) = {:.0} % of the CLI's dry run, {:.0} MB ({:.1} s)",
            took.as_secs_f64(),
            ratio * 100.0,
            cli.max_rss_mb,
            cli.wall.as_secs_f64()
        ),
        "≤ 110 % of the CLI's",
        ratio <= 1.10,
    )]
}
