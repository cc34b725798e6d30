//! The page, rendered on the server as plain HTML: the runs list with the upload, and a run's
//! page (mapping, counts, the table with its offending cells as inputs, the confirmation, the
//! live state, downloads, undo). No inline script or style (the policy forbids them): the
//! behaviour is `assets`' script, which only submits, filters and applies live updates. The
//! `data-test` attributes are a contract with the browser tests (issue 25): keep them exact.

use std::fmt::Write;

use super::table::{Columns, TableRow};

/// Text made safe for HTML content and attribute values.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The colour family of a status, as the xlsx results colour it: done green, nothing to do
/// grey, a person needed red, later yellow.
pub(super) fn tone(status: &str) -> &'static str {
    use crate::engine::{Status, Tone};
    match status.parse::<Status>().map(Status::tone) {
        Ok(Tone::Done) => "done",
        Ok(Tone::NothingToDo) => "nothing",
        Ok(Tone::NeedsAPerson) => "person",
        Ok(Tone::Later) => "later",
        Err(_) => "pending",
    }
}

/// The frame every page shares.
pub(super) fn frame(title: &str, organization: Option<&str>, body: &str) -> String {
    let org = organization.map_or(String::new(), |org| {
        format!("<span class=\"org\">Organization: <strong>{}</strong></span>", esc(org))
    });
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · tallyfy-guests</title><link rel=\"stylesheet\" href=\"/assets/page.css\"><script src=\"/assets/page.js\" defer></script></head>\
         <body><header><a href=\"/\" class=\"home\">tallyfy-guests</a>{org}</header><main>{body}</main></body></html>\n",
        esc(title)
    )
}

/// The token form, when no credentials are configured.
pub(super) fn token_form(ask_org: bool, error: Option<&str>) -> String {
    let mut out = String::from(
        "<section class=\"panel\"><h2>Connect to Tallyfy</h2><p>Paste a personal access token (Tallyfy: Settings › Integrations › REST API). It stays in this server's memory only: never on disk, never shown again.</p>",
    );
    if let Some(error) = error {
        let _ = write!(out, "<p class=\"error\" role=\"alert\">{}</p>", esc(error));
    }
    out.push_str("<form method=\"post\" action=\"/token\" class=\"stack\">");
    if ask_org {
        out.push_str("<label>Organization id <input name=\"org\" required autocomplete=\"off\" spellcheck=\"false\" size=\"34\"></label>");
    }
    out.push_str("<label>Access token <input type=\"password\" name=\"token\" required autocomplete=\"off\"></label><button type=\"submit\">Connect</button></form></section>");
    out
}

/// The upload form: choose or drop a spreadsheet; the script submits it once one is chosen.
pub(super) fn upload_form() -> String {
    "<section class=\"panel\" id=\"drop\"><h2>Import guests from a spreadsheet</h2>\
     <form method=\"post\" action=\"/runs\" enctype=\"multipart/form-data\" id=\"upload\">\
     <label for=\"file\">Choose or drop a file (CSV or TSV in any encoding, .xlsx, .xls, .ods)</label> \
     <input type=\"file\" id=\"file\" name=\"file\" data-test=\"file\" required accept=\".csv,.tsv,.txt,.xlsx,.xlsm,.xlsb,.xls,.ods,text/csv\"> \
     <button type=\"submit\">Upload and check</button></form>\
     <p class=\"note\">Nothing is sent until you confirm: the file is first checked against the organization (a dry run).</p></section>"
        .to_string()
}

/// One line of the runs list.
pub(super) struct RunLine {
    /// The run's id.
    pub id: String,
    /// The uploaded file's name.
    pub file: String,
    /// When it was uploaded.
    pub uploaded: String,
    /// Where it is, in words.
    pub state: String,
    /// Rows per status of its latest job.
    pub counts: Vec<(String, u64)>,
    /// It has results to download.
    pub results: bool,
    /// It has the results as a workbook.
    pub workbook: bool,
    /// The machine-readable state (`data-state`).
    pub data_state: &'static str,
    /// What opening it offers, in words.
    pub open: String,
    /// Continue is offered.
    pub can_continue: bool,
    /// No job of it is going: it may be deleted.
    pub deletable: bool,
}

/// The runs list.
pub(super) fn runs_list(lines: &[RunLine]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section><h2>Earlier runs</h2><table class=\"runs\"><thead><tr><th>File</th><th>Uploaded</th><th>State</th><th>Rows</th><th>Results</th><th></th></tr></thead><tbody>",
    );
    for line in lines {
        let counts: Vec<String> = line
            .counts
            .iter()
            .map(|(status, n)| format!("<span class=\"pill {}\">{n} {}</span>", tone(status), esc(status)))
            .collect();
        let id = esc(&line.id);
        let open = format!("<a href=\"/runs/{id}\">{}</a>", esc(&line.open));
        let results = match (line.results, line.workbook) {
            (true, true) => format!(
                "<a href=\"/runs/{id}/results.csv\" download>CSV</a> · <a href=\"/runs/{id}/results.xlsx\" download>xlsx</a> · {open}"
            ),
            (true, false) => format!("<a href=\"/runs/{id}/results.csv\" download>CSV</a> · {open}"),
            (false, _) => String::new(),
        };
        let resume = if line.can_continue {
            button("continue", &id, "continue", "Continue…", "primary")
        } else {
            String::new()
        };
        // A link to a question, not a button that deletes: nothing is removed unconfirmed.
        let delete = if line.deletable {
            format!(
                "<a href=\"/runs/{id}/delete\" data-test=\"delete\" aria-label=\"{}\">Delete…</a>",
                esc(&format!("Delete the run of {}", line.file))
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr data-test=\"run\" data-run=\"{id}\"><td><a href=\"/runs/{id}\">{}</a></td><td>{}</td><td><span data-test=\"run-state\" data-state=\"{}\">{}</span></td><td>{}</td><td>{results}{resume}</td><td>{delete}</td></tr>",
            esc(&line.file),
            esc(&line.uploaded),
            line.data_state,
            esc(&line.state),
            counts.join(" ")
        );
    }
    out.push_str("</tbody></table></section>");
    out
}

/// Everything a run's page shows.
pub(super) struct RunPage {
    /// The run's id.
    pub id: String,
    /// The uploaded file's name.
    pub file: String,
    /// Its version (a page showing an older one reloads).
    pub version: u64,
    /// The state line, in words.
    pub state: String,
    /// The machine-readable state (`data-state`): `checking`, `ready`, `running`, `stopped`,
    /// `done` or `failed`.
    pub data_state: &'static str,
    /// A job is going.
    pub live: bool,
    /// An error to show.
    pub error: Option<String>,
    /// The mapping, while it can still change (before the import).
    pub columns: Option<Columns>,
    /// Rows per status of the job shown.
    pub counts: Vec<(String, u64)>,
    /// How long the creates take at the invite pace.
    pub timing: Option<String>,
    /// The send button (a preview is ready and nothing was sent).
    pub can_send: bool,
    /// The confirmation asked, with what it confirms.
    pub confirm: Option<String>,
    /// The stop button.
    pub can_stop: bool,
    /// The undo button.
    pub can_undo: bool,
    /// The continue button (the rest of a stopped, capped, failed or interrupted import).
    pub can_continue: bool,
    /// Downloads: (label, href, data-test).
    pub downloads: Vec<(String, String, Option<&'static str>)>,
    /// The results' rows that need a person, and the next step.
    pub needs_person: Option<(u64, String)>,
    /// The table's caption.
    pub caption: String,
    /// The table's header.
    pub header: Vec<String>,
    /// The table's rows, each with its offending fields and the columns they are in.
    pub rows: Vec<(TableRow, Vec<(String, usize)>)>,
    /// Rows past the shown ones.
    pub more: u64,
    /// Offending cells can be fixed in place (a preview).
    pub fixable: bool,
}

/// A run's page.
pub(super) fn run_page(page: &RunPage) -> String {
    let id = esc(&page.id);
    let mut out = String::new();
    let _ = write!(
        out,
        "<div id=\"run\" data-run=\"{id}\" data-version=\"{}\" data-live=\"{}\"><h1>{}</h1>",
        page.version,
        page.live,
        esc(&page.file)
    );
    let _ = write!(
        out,
        "<p class=\"state\" role=\"status\" aria-live=\"polite\"><span data-test=\"state\" id=\"state\" data-state=\"{}\">{}</span></p>",
        page.data_state,
        esc(&page.state)
    );
    if let Some(error) = &page.error {
        let _ = write!(out, "<p class=\"error\" role=\"alert\">{}</p>", esc(error));
    }
    if let Some(columns) = &page.columns {
        mapping(&mut out, &id, columns, page.live);
    }
    counts(&mut out, &page.counts);
    if let Some(timing) = &page.timing {
        let _ = write!(out, "<p class=\"timing\">{}</p>", esc(timing));
    }
    actions(&mut out, &id, page);
    if !page.downloads.is_empty() {
        out.push_str("<p class=\"downloads\">Download: ");
        let links: Vec<String> = page
            .downloads
            .iter()
            .map(|(label, href, test)| {
                let test = test.map_or(String::new(), |t| format!(" data-test=\"{t}\""));
                format!("<a href=\"{}\" download{test}>{}</a>", esc(href), esc(label))
            })
            .collect();
        out.push_str(&links.join(" · "));
        out.push_str("</p>");
    }
    if let Some((n, next)) = &page.needs_person {
        let _ = write!(
            out,
            "<section class=\"panel person\"><h2>{n} row{} still need{} a person</h2><p>{}</p></section>",
            if *n == 1 { "" } else { "s" },
            if *n == 1 { "s" } else { "" },
            esc(next)
        );
    }
    table(&mut out, &id, page);
    out.push_str("</div>");
    out
}

fn mapping(out: &mut String, id: &str, columns: &Columns, live: bool) {
    let _ = write!(
        out,
        "<details class=\"panel\" id=\"mapping\"{}><summary>Columns: how each is imported <span class=\"note\">({})</span></summary>\
         <form method=\"post\" action=\"/runs/{id}/mapping\"><table><thead><tr><th>Column</th><th>Imported as</th><th></th></tr></thead><tbody>",
        if columns.hints.iter().any(Option::is_some) {
            " open"
        } else {
            ""
        },
        esc(&columns.format)
    );
    for (i, name) in columns.names.iter().enumerate() {
        let chosen = columns.chosen.get(i).copied().flatten();
        let mut options = format!(
            "<option value=\"ignore\"{}>not imported</option>",
            if chosen.is_none() { " selected" } else { "" }
        );
        for choice in crate::input::Field::all().map(crate::input::Field::name) {
            let _ = write!(
                options,
                "<option value=\"{choice}\"{}>{choice}</option>",
                if chosen == Some(choice) { " selected" } else { "" }
            );
        }
        let changed = columns.detected.get(i).copied().flatten() != chosen;
        let note = match (&columns.hints.get(i).cloned().flatten(), changed) {
            (Some(hint), _) => format!("<span class=\"hint\">⚠ {}</span>", esc(hint)),
            (None, true) => "<span class=\"note\">changed</span>".to_string(),
            (None, false) => String::new(),
        };
        let _ = write!(
            out,
            "<tr{}><td>{}</td><td><select name=\"c{i}\" aria-label=\"{}\">{options}</select></td><td>{note}</td></tr>",
            if columns.hints.get(i).is_some_and(Option::is_some) {
                " class=\"flagged\""
            } else {
                ""
            },
            esc(name),
            esc(&format!("Column {name} imported as"))
        );
    }
    let disabled = if live { " disabled" } else { "" };
    let _ = write!(
        out,
        "</tbody></table><button type=\"submit\"{disabled}>Check again with this mapping</button></form></details>"
    );
}

/// The counts, as filter buttons; the box is there even empty, for a live job's first rows.
fn counts(out: &mut String, counts: &[(String, u64)]) {
    out.push_str("<div class=\"counts\" role=\"group\" aria-label=\"Rows per status (choose one to show only those rows)\"><button type=\"button\" class=\"filter all\" data-filter=\"\" aria-pressed=\"true\">all</button>");
    for (status, n) in counts {
        let status = esc(status);
        let _ = write!(
            out,
            "<button type=\"button\" class=\"filter {}\" data-filter=\"{status}\" aria-pressed=\"false\"><span data-test=\"count\" data-status=\"{status}\">{n}</span> {status}</button>",
            tone(&status)
        );
    }
    out.push_str("</div>");
}

/// The question before a run is deleted: what goes, what stays, and the way back.
pub(super) fn delete_question(id: &str, file: &str, uploaded: &str) -> String {
    let question = format!(
        "Delete the run of {file} (uploaded {uploaded}) from this computer? Its copy of the file, \
         the corrected copy and the results are removed and cannot be brought back; the guests it \
         imported stay in the organization."
    );
    format!(
        "<section class=\"panel confirm\" role=\"alertdialog\" aria-labelledby=\"question\"><p id=\"question\">{}</p>{}\
         <a href=\"/\" data-test=\"keep\">Cancel: keep it</a></section>",
        esc(&question),
        button("delete", &esc(id), "delete-confirm", "Yes, delete it", "danger"),
    )
}

fn button(action: &str, id: &str, test: &str, label: &str, class: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/runs/{id}/{action}\" class=\"inline\"><button type=\"submit\" data-test=\"{test}\" class=\"{class}\">{label}</button></form>"
    )
}

fn actions(out: &mut String, id: &str, page: &RunPage) {
    if let Some(question) = &page.confirm {
        let _ = write!(
            out,
            "<section class=\"panel confirm\" role=\"alertdialog\" aria-labelledby=\"question\"><p id=\"question\">{}</p>{}{}</section>",
            esc(question),
            button("confirm", id, "confirm", "Yes, go ahead", "primary"),
            format_args!(
                "<form method=\"post\" action=\"/runs/{id}/cancel\" class=\"inline\"><button type=\"submit\">Cancel</button></form>"
            )
        );
        return;
    }
    out.push_str("<div class=\"actions\">");
    if page.can_send {
        out.push_str(&button("send", id, "send", "Send…", "primary"));
    }
    if page.can_continue {
        out.push_str(&button("continue", id, "continue", "Continue…", "primary"));
    }
    if page.can_stop {
        out.push_str(&button("stop", id, "stop", "Stop", "danger"));
    }
    if page.can_undo {
        out.push_str(&button("undo", id, "undo", "Undo what this import created…", ""));
    }
    out.push_str("</div>");
}

fn table(out: &mut String, id: &str, page: &RunPage) {
    if page.rows.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<table class=\"rows\" id=\"rows\"><caption>{}</caption><thead><tr><th scope=\"col\">Row</th><th scope=\"col\">Status</th><th scope=\"col\">Message</th>",
        esc(&page.caption)
    );
    for name in &page.header {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(name));
    }
    out.push_str("</tr></thead><tbody>");
    for (row, offending) in &page.rows {
        let status = esc(&row.status);
        let _ = write!(
            out,
            "<tr data-test=\"row\" data-row=\"{}\" data-status=\"{status}\" class=\"{}\"><td>{}</td><td class=\"status\">{status}</td><td class=\"message\">{}</td>",
            row.row,
            tone(&row.status),
            row.row,
            esc(&row.message)
        );
        for (column, cell) in row.cells.iter().enumerate() {
            match offending.iter().find(|(_, at)| *at == column) {
                Some((field, _)) if page.fixable => {
                    let field = esc(field);
                    let _ = write!(
                        out,
                        "<td class=\"offending\"><form method=\"post\" action=\"/runs/{id}/fix\"><input type=\"hidden\" name=\"row\" value=\"{0}\"><input type=\"hidden\" name=\"field\" value=\"{field}\">\
                         <input name=\"value\" value=\"{1}\" data-test=\"fix\" data-row=\"{0}\" data-field=\"{field}\" aria-label=\"{2}\" spellcheck=\"false\" autocomplete=\"off\"></form></td>",
                        row.row,
                        esc(cell),
                        esc(&format!("Fix {field} of row {} (Enter checks it again)", row.row)),
                    );
                }
                Some(_) => {
                    let _ = write!(out, "<td class=\"offending\">{}</td>", esc(cell));
                }
                None => {
                    let _ = write!(out, "<td>{}</td>", esc(cell));
                }
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if page.more > 0 {
        let _ = write!(
            out,
            "<p class=\"note\">{} more rows are not shown here: the downloads hold every row.</p>",
            page.more
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_a_file_cannot_become_markup() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn status_colours_follow_the_workbooks() {
        assert_eq!(tone("created"), "done");
        assert_eq!(tone("would_create"), "done");
        assert_eq!(tone("exists"), "nothing");
        assert_eq!(tone("invalid"), "person");
        assert_eq!(tone("deferred"), "later");
        assert_eq!(tone("pending"), "pending");
    }

    #[test]
    fn offending_cells_are_inputs_with_the_contracts_attributes() {
        let row = TableRow {
            row: 7,
            status: "invalid".into(),
            message: "Email \"a@\" is not an email address".into(),
            cells: vec!["a@".into(), "Ann".into()],
        };
        let page = RunPage {
            id: "r1".into(),
            file: "g.xlsx".into(),
            version: 2,
            state: "done: checked".into(),
            data_state: "ready",
            live: false,
            error: None,
            columns: None,
            counts: vec![("invalid".into(), 1)],
            timing: None,
            can_send: true,
            confirm: None,
            can_stop: false,
            can_undo: false,
            can_continue: false,
            downloads: vec![],
            needs_person: None,
            caption: "Preview".into(),
            header: vec!["Email".into(), "Name".into()],
            rows: vec![(row, vec![("email".into(), 0)])],
            more: 0,
            fixable: true,
        };
        let html = run_page(&page);
        assert!(
            html.contains("data-test=\"row\" data-row=\"7\" data-status=\"invalid\""),
            "{html}"
        );
        assert!(
            html.contains("data-test=\"fix\" data-row=\"7\" data-field=\"email\""),
            "{html}"
        );
        assert!(
            html.contains("<span data-test=\"count\" data-status=\"invalid\">1</span>"),
            "{html}"
        );
        assert!(html.contains("data-test=\"send\""), "{html}");
        assert!(
            html.contains("<span data-test=\"state\" id=\"state\" data-state=\"ready\">done: checked</span>"),
            "{html}"
        );
        assert!(!html.contains("style="), "inline styles are refused by the policy");
    }
}
