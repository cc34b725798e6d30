//! `export`: every guest of the organization as CSV. The first page reveals how many pages
//! there are; the rest are fetched concurrently under the run's pacer and written in server
//! order. A file output appears only when complete. Paging rules: ../shared/tallyfy-api.md.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::api::paging::{Walk, each_page};
use crate::api::{Client, Guest};
use crate::config::ExportConfig;
use crate::error::{Exit, RunError, shutdown_signal};
use crate::files::output::{AtomicFile, neutralize};
use crate::files::overwrite::{self, Kind};
use crate::monitor::{End, Watch};

/// Columns of the export, in order. `import` reads them back (it is valid import input).
pub const COLUMNS: [&str; 16] = [
    "id",
    "email",
    "first_name",
    "last_name",
    "status",
    "phone_1",
    "phone_2",
    "company_name",
    "timezone",
    "associated_members",
    "created_at",
    "last_accessed_at",
    "last_known_ip",
    "last_known_country",
    "disabled_at",
    "link",
];

/// Added with `--with-stats`.
pub const STATS_COLUMNS: [&str; 5] = [
    "assigned_tasks",
    "tasks_completed",
    "last_task_completed_at",
    "one_off_tasks_completed",
    "last_one_off_task_completed_at",
];

#[derive(Debug, Clone, Copy)]
/// How the export writes its CSV.
pub struct ExportOptions {
    /// Add the task statistics columns.
    pub with_stats: bool,
    /// Leave formula-like cells as they are.
    pub raw: bool,
    /// Pages in flight at once.
    pub concurrency: usize,
    /// UTF-8 BOM and CRLF, for Excel.
    pub excel: bool,
}

/// The `export` command, watched as an import is (its history record, `--notify`, `--ping`,
/// `--metrics-file`).
pub async fn run(mut args: ExportConfig) -> Result<Exit, RunError> {
    let org = match &args.reach {
        Ok(crate::config::Online::Api(config)) => Some(config.org.clone()),
        Ok(crate::config::Online::Sandbox(_)) => Some(crate::sandbox::DEFAULT_ORG.to_string()),
        Err(_) => None,
    };
    let watch = Watch::of_export(args.monitor.clone(), org, args.output.as_deref());
    let problems = std::mem::take(&mut args.monitor_problems);
    watch.started().await;
    let mut guests = None;
    let result = export_run(args, problems, &mut guests).await;
    let mut end = End::of_result(&result);
    if let (Some(guests), Ok(_)) = (guests, &result) {
        end.rows = guests;
        end.counts.insert("exported".into(), guests);
        end.progress = true;
    }
    watch.finished(end).await;
    result
}

/// The export itself: configuration, output file, Ctrl-C, and the closing summary; the guests
/// written go in `guests`.
async fn export_run(args: ExportConfig, monitor: Vec<String>, guests: &mut Option<u64>) -> Result<Exit, RunError> {
    // Every set-up problem is found before anything is sent, and reported together.
    let mut problems = Vec::new();
    let reach = args.reach.map_err(|e| problems.extend(e.problems())).ok();
    problems.extend(monitor);
    if let Some(path) = &args.output {
        if let Some(problem) = crate::files::overwrite::unwritable_format(path, "--output") {
            problems.push(problem);
        } else if let Err(problem) = crate::files::output::check_writable(path, "--output") {
            problems.push(problem);
        } else if let Err(problem) =
            crate::files::overwrite::check(path, Kind::Export, args.force, "--output", COLUMNS.join(",").as_bytes())
        {
            problems.push(problem);
        }
    }
    let Some(reach) = reach.filter(|_| problems.is_empty()) else {
        return Err(RunError::Setup(problems));
    };
    let (config, _sandbox) = crate::connect::online(reach).await?;
    let client = Client::new(&config)?;
    let options = ExportOptions {
        with_stats: args.with_stats,
        raw: args.raw,
        excel: args.excel,
        concurrency: args.concurrency,
    };
    let started = Instant::now();
    let work = async {
        match &args.output {
            Some(path) => export_to_file(&client, path, &options).await,
            None => export(&client, std::io::stdout(), &options).await,
        }
    };
    let summary = tokio::select! {
        result = work => result?,
        _ = shutdown_signal() => return Err(RunError::Interrupted),
    };
    *guests = Some(summary.guests);
    let seconds = started.elapsed().as_secs_f64();
    let target = args
        .output
        .as_ref()
        .map_or("stdout".to_string(), |p| p.display().to_string());
    let pages = if summary.pages == 1 { "page" } else { "pages" };
    tracing::info!(
        "exported {} guests ({} {pages}) to {target} in {seconds:.1} s",
        summary.guests,
        summary.pages
    );
    Ok(Exit::Success)
}

async fn export_to_file(client: &Client, path: &Path, options: &ExportOptions) -> Result<Walk, RunError> {
    let what = || format!("cannot write {}", path.display());
    let xlsx = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("xlsx"));
    let mut file = AtomicFile::create(path).map_err(|e| RunError::io(what(), e))?;
    let summary = if xlsx {
        // The same records, unguarded (a workbook's text cells are never formulas), then laid
        // out as a sheet.
        let mut csv = Vec::new();
        let plain = ExportOptions {
            raw: true,
            excel: false,
            ..*options
        };
        let summary = export(client, &mut csv, &plain).await?;
        let book = workbook(&csv).map_err(|e| RunError::io(what(), std::io::Error::other(e.to_string())))?;
        file.writer().write_all(&book).map_err(|e| RunError::io(what(), e))?;
        summary
    } else {
        export(client, file.writer(), options).await?
    };
    file.commit().map_err(|e| RunError::io(what(), e))?;
    Ok(summary)
}

/// The export as a workbook: one sheet, the header (bold, frozen) and a guest a row, every
/// cell text (a phone keeps its `+` and leading zeros), marked as the tool's own.
fn workbook(csv: &[u8]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    book.set_properties(&overwrite::properties(Kind::Export));
    let sheet = book.add_worksheet().set_name("Guests")?;
    let bold = Format::new().set_bold();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(csv);
    for (row, record) in reader.records().enumerate() {
        for (col, cell) in record?.iter().enumerate() {
            if row == 0 {
                sheet.write_string_with_format(0, col as u16, cell, &bold)?;
                sheet.set_column_width(col as u16, 20)?;
            } else if !cell.is_empty() {
                sheet.write_string(row as u32, col as u16, cell)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(book.save_to_buffer()?)
}

/// Writes the header and every guest, page by page in server order.
pub async fn export<W: Write>(client: &Client, out: W, options: &ExportOptions) -> Result<Walk, RunError> {
    let failed = |e| RunError::csv("cannot write the export", e);
    let mut writer = crate::files::output::csv_writer(out, crate::files::output::CsvStyle::new(options.excel))
        .map_err(|e| RunError::io("cannot write the export", e))?;
    let mut header: Vec<&str> = COLUMNS.to_vec();
    if options.with_stats {
        header.extend(STATS_COLUMNS);
    }
    writer.write_record(&header).map_err(failed)?;
    // A guest can come twice when the list shifts under the pages (a guest added or removed
    // while we read): it is written once.
    let mut written = std::collections::HashSet::new();
    let mut repeated = 0u64;
    let walk = each_page(client, options.with_stats, options.concurrency, |page| {
        for guest in &page.guests {
            if !written.insert(xxhash_rust::xxh3::xxh3_128(
                guest.email.trim().to_lowercase().as_bytes(),
            )) {
                repeated += 1;
                continue;
            }
            for cell in guest_record(guest, options.with_stats) {
                let cell = if options.raw {
                    cell.as_str().into()
                } else {
                    neutralize(&cell)
                };
                writer.write_field(cell.as_bytes()).map_err(failed)?;
            }
            writer.write_record(None::<&[u8]>).map_err(failed)?;
        }
        Ok::<_, RunError>(())
    })
    .await?;
    if repeated > 0 {
        tracing::warn!(
            "{repeated} guests came twice while the list was read (it changed meanwhile); each is written once"
        );
    }
    writer.flush().map_err(|e| RunError::io("cannot write the export", e))?;
    Ok(walk)
}

/// One guest as export cells, in `COLUMNS` (then `STATS_COLUMNS`) order.
pub fn guest_record(guest: &Guest, with_stats: bool) -> Vec<String> {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let members = crate::api::model::join_members(&guest.associated_members);
    let mut record = vec![
        guest.id.clone(),
        guest.email.clone(),
        text(&guest.first_name),
        text(&guest.last_name),
        text(&guest.status),
        text(&guest.phone_1),
        text(&guest.phone_2),
        text(&guest.company_name),
        text(&guest.timezone),
        members,
        text(&guest.created_at),
        text(&guest.last_accessed_at),
        text(&guest.last_known_ip),
        text(&guest.last_known_country),
        text(&guest.disabled_at),
        text(&guest.link),
    ];
    if with_stats {
        let stats = guest.stats.clone().unwrap_or_default();
        let count = |value: Option<u64>| value.map(|n| n.to_string()).unwrap_or_default();
        record.extend([
            count(stats.assigned_tasks),
            count(stats.tasks_completed),
            text(&stats.last_task_completed_at),
            count(stats.one_off_tasks_completed),
            text(&stats.last_one_off_task_completed_at),
        ]);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::load_guests;

    #[test]
    fn a_guest_round_trips_through_an_export_row() {
        let guest = Guest {
            id: "7".into(),
            email: "a+b@x.com".into(),
            first_name: Some("Zoë, \"Z\"".into()),
            phone_1: Some("+44 20".into()),
            associated_members: vec![1001, 1002],
            created_at: Some("2025-01-10T08:30:00Z".into()),
            ..Guest::default()
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(COLUMNS).unwrap();
        writer
            .write_record(guest_record(&guest, false).iter().map(|c| neutralize(c).into_owned()))
            .unwrap();
        let bytes = writer.into_inner().unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains(",'+44 20,"));
        let loaded = load_guests(bytes.as_slice()).unwrap();
        assert_eq!(loaded, vec![guest]);
    }
}
