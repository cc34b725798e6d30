//! Small files built to take all memory: a megabyte of commas a row, a workbook whose two cells
//! sit seventeen billion cells apart, a shared string repeated twenty thousand times, a zip
//! part that inflates to gigabytes. Each runs the real binary under a 1 GiB address-space limit
//! and must end with a clear error or `invalid` rows, never an abort.

use std::io::Write;
use std::path::Path;
use std::process::Output;

use crate::util::{bin, result_rows};

/// The binary, offline (a dry run), with its address space limited to 1 GiB.
#[cfg(target_os = "linux")]
fn dry_run_limited(file: &Path) -> Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tallyfy-guests"));
    for var in tallyfy_guests::config::ENV_VARS {
        cmd.env_remove(var);
    }
    cmd.args(["-q", "import", "--dry-run"]).arg(file);
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let _ = bin(); // the same environment rules as every other test
    cmd.output().unwrap()
}

#[cfg(target_os = "linux")]
fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[cfg(target_os = "linux")]
#[test]
fn a_megabyte_of_commas_a_row_is_invalid_rows_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("commas.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(b"email,name\n").unwrap();
    let row = ",".repeat(1024 * 1024);
    for _ in 0..40 {
        file.write_all(row.as_bytes()).unwrap();
        file.write_all(b"\n").unwrap();
    }
    file.write_all(b"ok@example.org,Ok\n").unwrap();
    drop(file);
    let output = dry_run_limited(&path);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let rows = result_rows(&dir.path().join("commas.dry-run.csv"));
    assert_eq!(rows.len(), 41, "every row accounted for");
    assert!(
        rows[0].result_message.contains("cells more than the 16384 kept"),
        "{}",
        &rows[0].result_message[..200]
    );
    assert_eq!(rows[40].result_status, "would_create");
}

#[cfg(target_os = "linux")]
#[test]
fn a_workbook_whose_cells_sit_far_apart_costs_only_its_cells() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("far.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "email").unwrap();
    sheet.write_string(1, 0, "near@example.org").unwrap();
    sheet.write_string(1_048_575, 16_383, "far").unwrap();
    book.save(&path).unwrap();
    let output = dry_run_limited(&path);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let rows = result_rows(&dir.path().join("far.dry-run.csv"));
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].result_row, rows[0].result_status.as_str()),
        (2, "would_create")
    );
    assert_eq!(
        (rows[1].result_row, rows[1].result_status.as_str()),
        (1_048_576, "invalid")
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_shared_string_repeated_twenty_thousand_times_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strings.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "email").unwrap();
    // Stored once in the shared strings, referenced by every cell: a small file, cut at
    // 16 KiB a cell, still 320 MB of text if it were all kept.
    let long = "x".repeat(30_000);
    for row in 1..20_000 {
        sheet.write_string(row, 0, &long).unwrap();
    }
    book.save(&path).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 2_000_000);
    let output = dry_run_limited(&path);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("MiB of text"), "{}", stderr(&output));
}

#[cfg(target_os = "linux")]
#[test]
fn a_zip_part_that_inflates_to_gigabytes_is_refused_before_it_is_unpacked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.xlsx");
    // A real workbook, plus one part of spaces that inflates far past the cap.
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet().write_string(0, 0, "email").unwrap();
    let real = book.save_to_buffer().unwrap();
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(real)).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for index in 0..source.len() {
        out.raw_copy_file(source.by_index_raw(index).unwrap()).unwrap();
    }
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    out.start_file("xl/media/filler.xml", options).unwrap();
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..140 {
        out.write_all(&spaces).unwrap();
    }
    out.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 5_000_000, "a bomb is small");
    let output = dry_run_limited(&path);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("zip bomb"), "{}", stderr(&output));
}
