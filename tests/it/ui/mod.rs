//! The `ui` command's page (issue 25): driven in a real headless Chromium over WebDriver
//! (`flow`; `face`: issue 33's page as a product; a job that outlives the tab, Continue, Undo and fixes after a send in `jobs`), spoken to over plain HTTP for its security guarantees (`security`), and compared
//! with the CLI on one file (`same_results`). `browser` and `server` are the harness; `harness`
//! proves the browser half on a page of its own.

mod browser;
mod face;
mod flow;
mod harness;
mod jobs;
mod same_results;
mod security;
mod server;
mod shared_machine;

use std::path::Path;

use tallyfy_guests::sandbox::{SandboxOptions, sample_guests};

/// A guest of samples/existing-guests.csv: in the built-in sandbox (`--sandbox`) and in
/// [`seeded`] alike, so the sheet's row 3 is `exists` in both.
pub const EXISTING: [&str; 4] = [
    "maria.gonzalez@acme-logistics.com",
    "María",
    "González",
    "ACME Logistics",
];

/// The invalid row and the address that fixes it.
pub const INVALID_ROW: u64 = 6;
pub const FIXED_EMAIL: &str = "alan.new@example.com";

/// The sheet the page's tests upload: new, existing, duplicate and invalid rows, with the
/// headers a person's export has.
pub fn mixed_rows() -> Vec<[&'static str; 4]> {
    vec![
        ["ada.new@example.com", "Ada", "Lovelace", "Analytical Engines"],
        EXISTING,
        ["grace.new@example.com", "Grace", "Hopper", "Navy"],
        ["ADA.NEW@example.com", "Ada", "Lovelace", "Analytical Engines"],
        ["alan.new at example.com", "Alan", "Turing", "Bletchley"],
        ["edsger.new@example.com", "Edsger", "Dijkstra", "Eindhoven"],
    ]
}

/// The preview's statuses of [`mixed_rows`], by sheet row (the header is row 1).
pub const PREVIEW: [(u64, &str); 6] = [
    (2, "would_create"),
    (3, "exists"),
    (4, "would_create"),
    (5, "duplicate"),
    (6, "invalid"),
    (7, "would_create"),
];

/// Writes `rows` under the header Email, First Name, Last Name, Company as an .xlsx.
pub fn workbook<const N: usize>(path: &Path, rows: &[[&str; N]]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (column, name) in ["Email", "First Name", "Last Name", "Company"]
        .iter()
        .take(N)
        .enumerate()
    {
        sheet.write_string(0, column as u16, *name).unwrap();
    }
    for (i, row) in rows.iter().enumerate() {
        for (column, cell) in row.iter().enumerate() {
            sheet.write_string(i as u32 + 1, column as u16, *cell).unwrap();
        }
    }
    book.save(path).unwrap();
}

/// A sandbox holding what the built-in one holds (samples/existing-guests.csv), with `options`.
pub fn seeded(options: SandboxOptions) -> SandboxOptions {
    SandboxOptions {
        guests: sample_guests(),
        ..options
    }
}
