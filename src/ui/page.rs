//! The page's HTML, from compiled askama templates (`src/ui/templates/`), which escape every
//! value they are given (text from a file cannot become markup): the runs list with the
//! upload, and a run's page (the column step, counts that filter, the table a page at a time
//! (`table::results` reads only that page, the rows needing a person first) with the
//! offending cells as inputs, the confirmation,
//! the live state, downloads, undo). This file holds what the templates are given and the
//! page's words for statuses; the markup is the templates'. Deleting a run is a question
//! first (`delete.html`), never a click that removes. No inline script or style (the
//! policy forbids them): the behaviour is `assets`' script. The `data-test` attributes are a
//! contract with the browser tests (issues 25 and 33): keep them exact.

use askama::Template;

use super::table::{Columns, TableRow, field_words};

/// Rows on one page of the table: every row is a page or a filter away, however big the file.
pub(super) const PAGE_ROWS: usize = 200;

/// How the page shows a status: its colour family (as the xlsx results colour it: done green,
/// nothing to do grey, a person needed red, later yellow), an icon, and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Look {
    /// `done`, `nothing`, `person`, `later` or `pending`: the CSS class.
    pub tone: &'static str,
    /// A sign that says the family without colour.
    pub icon: &'static str,
    /// The status in a person's words.
    pub words: &'static str,
}

impl Look {
    /// The look of a status as the results write it (`pending`: a live job has not reached it).
    pub(super) fn of(status: &str) -> Look {
        use crate::engine::{Status, Tone};
        let Ok(status) = status.parse::<Status>() else {
            return Look {
                tone: "pending",
                icon: "…",
                words: "waiting",
            };
        };
        let (tone, icon) = match status.tone() {
            Tone::Done => ("done", "✓"),
            Tone::NothingToDo => ("nothing", "="),
            Tone::NeedsAPerson => ("person", "⚠"),
            Tone::Later => ("later", "⏸"),
        };
        let words = match status {
            Status::Created => "created",
            Status::Updated => "members updated",
            Status::Enabled => "re-enabled",
            Status::Exists => "already there",
            Status::Duplicate => "repeats an earlier row",
            Status::WouldCreate => "will be created",
            Status::WouldUpdate => "members will be updated",
            Status::WouldEnable => "will be re-enabled",
            Status::Deleted => "deleted",
            Status::Disabled => "disabled",
            Status::AlreadyGone => "already gone",
            Status::NotCreatedHere => "not made by this import: left alone",
            Status::ChangedSince => "changed since the import: left alone",
            Status::UsedSince => "used since the import: kept",
            Status::Unproven => "cannot be shown to be this import's: left alone",
            Status::InUse => "in use: kept",
            Status::WouldDelete => "will be deleted",
            Status::WouldDisable => "will be disabled",
            Status::Invalid => "needs fixing",
            Status::Conflict => "refused by Tallyfy",
            Status::Failed => "failed",
            Status::Deferred => "not reached yet",
        };
        Look { tone, icon, words }
    }
}

/// The colour family of a status.
pub(super) fn tone(status: &str) -> &'static str {
    Look::of(status).tone
}

/// The first page: the token form (when no credentials are configured and none was typed) or
/// the upload, and the runs list.
#[derive(Template)]
#[template(path = "home.html")]
pub(super) struct Home {
    /// The organization, once reached.
    pub organization: Option<String>,
    /// The token form, instead of the upload.
    pub connect: Option<Connect>,
    /// The runs, newest first.
    pub runs: Vec<RunLine>,
}

/// The token form.
pub(super) struct Connect {
    /// The organization id is asked too (none configured).
    pub ask_org: bool,
    /// Why the last token was not taken.
    pub error: Option<String>,
    /// The organization id typed before, kept.
    pub org: String,
}

/// A page that only says what went wrong.
#[derive(Template)]
#[template(path = "problem.html")]
pub(super) struct Problem {
    /// What went wrong, and what to do.
    pub text: String,
    /// Not shown on a problem page.
    pub organization: Option<String>,
}

/// The question before a run is deleted: what goes, what stays, and the way back.
#[derive(Template)]
#[template(path = "delete.html")]
pub(super) struct DeleteQuestion {
    /// The run's id.
    pub id: String,
    /// The uploaded file's name.
    pub file: String,
    /// When it was uploaded.
    pub uploaded: String,
    /// Not shown on the question.
    pub organization: Option<String>,
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

/// A status's count, as the runs list and the filters show it.
pub(super) struct Pill {
    /// The status, as the results write it (the filter's value; never shown).
    pub status: String,
    /// Rows.
    pub n: u64,
    /// How it looks.
    pub look: Look,
    /// The table shows only these rows now.
    pub current: bool,
}

fn pills(counts: &[(String, u64)], filter: Option<&str>) -> Vec<Pill> {
    counts
        .iter()
        .map(|(status, n)| Pill {
            status: status.clone(),
            n: *n,
            look: Look::of(status),
            current: filter == Some(status.as_str()),
        })
        .collect()
}

impl RunLine {
    /// Its counts, coloured and in words.
    pub(super) fn pills(&self) -> Vec<Pill> {
        pills(&self.counts, None)
    }
}

/// A file to download.
#[derive(Debug, Clone)]
pub(super) struct Download {
    /// What it is, in words.
    pub label: String,
    /// Where.
    pub href: String,
    /// Its `data-test` name, when the tests use it.
    pub test: Option<&'static str>,
}

/// Everything a run's page shows.
#[derive(Default)]
pub(super) struct RunPage {
    /// The run's id.
    pub id: String,
    /// The uploaded file's name.
    pub file: String,
    /// Its version (a page showing an older one reloads).
    pub version: u64,
    /// The state line, in words.
    pub state: String,
    /// The state for tests and the script: `checking`, `ready`, `running`, `stopped`, `done`
    /// or `failed`.
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
    /// Files to download.
    pub downloads: Vec<Download>,
    /// The results' rows that need a person, and the next step.
    pub needs_person: Option<(u64, String)>,
    /// The table's caption.
    pub caption: String,
    /// The table's header.
    pub header: Vec<String>,
    /// The rows of the page shown (the rows needing a person first, then the file's order),
    /// each with its offending fields and the columns they are in.
    pub rows: Vec<(TableRow, Vec<(String, usize)>)>,
    /// Rows under the filter, on every page.
    pub kept: u64,
    /// Offending cells can be fixed in place (a preview).
    pub fixable: bool,
    /// The rows the person left out, by the sheet's row number.
    pub skipped: Vec<u64>,
    /// Rows can be left out (a preview, before anything is sent).
    pub can_skip: bool,
    /// The status the table is filtered to, if any.
    pub filter: Option<String>,
    /// The page of the table shown (0-based, within the pages there are).
    pub at: usize,
}

/// A run's page, as the template takes it.
#[derive(Template)]
#[template(path = "run.html")]
pub(super) struct RunView<'a> {
    /// The organization the run goes to.
    pub organization: Option<String>,
    /// What the page shows.
    pub page: &'a RunPage,
}

/// One column of the mapping: `select[data-test="map"][data-column=NAME]`.
pub(super) struct MappedColumn {
    /// Its position (the form's `c0`, `c1`, ...).
    pub index: usize,
    /// Its header, as in the file.
    pub name: String,
    /// The fields it can be imported as, the chosen one selected.
    pub options: Vec<Choice>,
    /// It looks like a field it is not imported as: what it looks like, and the field.
    pub hint: Option<(&'static str, &'static str, &'static str)>,
    /// The person changed what was detected.
    pub changed: bool,
}

/// One option of a column's choice.
pub(super) struct Choice {
    /// The form's value: a field's name, or `ignore`.
    pub value: &'static str,
    /// What the person reads.
    pub label: &'static str,
    /// The column is imported so now.
    pub selected: bool,
}

/// One row of the table, as shown.
pub(super) struct ShownRow {
    /// The sheet's row number.
    pub row: u64,
    /// Its status, as the results write it (`data-status`; never shown).
    pub status: String,
    /// How the status looks.
    pub look: Look,
    /// What happened, in words.
    pub message: String,
    /// It needs a person and can be left out of the import with a click.
    pub skippable: bool,
    /// Its cells.
    pub cells: Vec<ShownCell>,
}

/// One cell of a row.
pub(super) struct ShownCell {
    /// What it holds.
    pub text: String,
    /// The field a person can fix it as, in place.
    pub fix: Option<String>,
    /// The value the message suggests ("did you mean Asia/Tokyo?"), applied with a click.
    pub suggestion: Option<String>,
    /// It is why the row cannot be imported.
    pub offending: bool,
    /// The next thing to do: the page puts the focus here.
    pub focus: bool,
}

/// A link to another page of the table.
pub(super) struct PageLink {
    /// What it says.
    pub label: String,
    /// Where it goes.
    pub href: String,
}

/// What the person most likely does next, where the page puts the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Focus {
    Remap,
    Confirm,
    Fix,
    Send,
    Continue,
    Stop,
    Undo,
    Nothing,
}

/// The value a row's message suggests for a cell: `… did you mean Asia/Tokyo?`.
fn suggested(message: &str) -> Option<String> {
    let after = &message[message.find("did you mean ")? + "did you mean ".len()..];
    let value = &after[..after.find('?')?];
    (!value.is_empty() && !value.contains(' ')).then(|| value.to_string())
}

impl RunView<'_> {
    /// A field in words.
    fn words(&self, field: &str) -> &'static str {
        field_words(field)
    }

    /// The counts, as filters of the table.
    fn pills(&self) -> Vec<Pill> {
        pills(&self.page.counts, self.page.filter.as_deref())
    }

    /// Every row counted.
    fn total(&self) -> u64 {
        self.page.counts.iter().map(|(_, n)| n).sum()
    }

    /// The column step: the email column is not certain, and nothing is checked until the
    /// person says which it is.
    fn uncertain(&self) -> Option<&str> {
        self.page.columns.as_ref()?.uncertain.as_deref()
    }

    /// Some column looks like a field it is not imported as: the mapping opens by itself.
    fn hinted(&self) -> bool {
        self.page
            .columns
            .as_ref()
            .is_some_and(|c| c.uncertain.is_some() || c.hints.iter().any(Option::is_some))
    }

    /// Where the focus goes when the page loads: the next thing to do.
    fn focus(&self) -> Focus {
        let page = self.page;
        if self.uncertain().is_some() && !page.live {
            Focus::Remap
        } else if page.confirm.is_some() {
            Focus::Confirm
        } else if page.fixable && page.rows.iter().any(|(_, marks)| !marks.is_empty()) {
            Focus::Fix
        } else if page.can_send {
            Focus::Send
        } else if page.can_continue {
            Focus::Continue
        } else if page.can_stop {
            Focus::Stop
        } else if page.can_undo {
            Focus::Undo
        } else {
            Focus::Nothing
        }
    }

    /// The mapping's columns.
    fn mapping(&self) -> Vec<MappedColumn> {
        let Some(columns) = &self.page.columns else {
            return Vec::new();
        };
        columns
            .names
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let chosen = columns.chosen.get(index).copied().flatten();
                let ignore = Choice {
                    value: "ignore",
                    label: "Not imported",
                    selected: chosen.is_none(),
                };
                let fields = crate::input::Field::all()
                    .map(crate::input::Field::name)
                    .map(|field| Choice {
                        value: field,
                        label: field_words(field),
                        selected: chosen == Some(field),
                    });
                MappedColumn {
                    index,
                    name: name.clone(),
                    options: std::iter::once(ignore).chain(fields).collect(),
                    hint: columns
                        .hints
                        .get(index)
                        .cloned()
                        .flatten()
                        .map(|hint| (hint.looks_like, hint.field, field_words(hint.field))),
                    changed: columns.uncertain.is_none() && columns.detected.get(index).copied().flatten() != chosen,
                }
            })
            .collect()
    }

    /// Pages of the table under the filter.
    fn pages(&self) -> usize {
        (self.page.kept as usize).div_ceil(PAGE_ROWS).max(1)
    }

    /// The page shown, within the pages there are.
    fn at(&self) -> usize {
        self.page.at.min(self.pages() - 1)
    }

    /// A link to page `at` of the table under the filter.
    fn href(&self, at: usize) -> String {
        let mut query = Vec::new();
        if let Some(filter) = &self.page.filter {
            query.push(format!("status={filter}"));
        }
        if at > 0 {
            query.push(format!("page={}", at + 1));
        }
        format!("/runs/{}?{}", self.page.id, query.join("&"))
    }

    /// The links to the table's other pages.
    fn pager(&self) -> Vec<PageLink> {
        let (at, pages) = (self.at(), self.pages());
        let mut links = Vec::new();
        if at > 0 {
            links.push(PageLink {
                label: "‹ previous rows".into(),
                href: self.href(at - 1),
            });
        }
        if at + 1 < pages {
            links.push(PageLink {
                label: "next rows ›".into(),
                href: self.href(at + 1),
            });
        }
        links
    }

    /// Which rows this page shows, in words.
    fn showing(&self) -> String {
        let kept = self.page.kept as usize;
        let first = self.at() * PAGE_ROWS;
        let last = (first + PAGE_ROWS).min(kept);
        match self.pages() {
            1 => format!("{kept} row{}", if kept == 1 { "" } else { "s" }),
            pages => format!(
                "rows {}–{last} of {kept} (page {} of {pages})",
                first + 1,
                self.at() + 1
            ),
        }
    }

    /// The table's rows on this page, each cell marked.
    fn rows(&self) -> Vec<ShownRow> {
        let mut focus = self.focus() == Focus::Fix;
        self.page
            .rows
            .iter()
            .map(|(row, offending)| {
                let message = super::words::plain(&row.message);
                let suggestion = suggested(&message);
                let cells = row
                    .cells
                    .iter()
                    .enumerate()
                    .map(|(column, text)| {
                        let field = offending.iter().find(|(_, at)| *at == column).map(|(f, _)| f);
                        let fix = field.filter(|_| self.page.fixable).cloned();
                        let here = fix.is_some() && std::mem::take(&mut focus);
                        ShownCell {
                            text: text.clone(),
                            suggestion: suggestion.clone().filter(|_| fix.is_some() && offending.len() == 1),
                            fix,
                            offending: field.is_some(),
                            focus: here,
                        }
                    })
                    .collect();
                ShownRow {
                    row: row.row,
                    status: row.status.clone(),
                    look: Look::of(&row.status),
                    message,
                    skippable: self.page.can_skip && tone(&row.status) == "person",
                    cells,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(page: &RunPage) -> String {
        RunView {
            organization: Some("Acme".into()),
            page,
        }
        .render()
        .unwrap()
    }

    #[test]
    fn text_from_a_file_cannot_become_markup() {
        let page = RunPage {
            file: "<script>alert('x')</script> & \"q\".csv".into(),
            ..RunPage::default()
        };
        let html = render(&page);
        assert!(
            html.contains("<h1>&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; &#34;q&#34;.csv</h1>"),
            "{html}"
        );
        assert!(!html.contains("<script>alert"), "{html}");
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

    fn preview_with(rows: Vec<(TableRow, Vec<(String, usize)>)>) -> RunPage {
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        for (row, _) in &rows {
            *counts.entry(row.status.clone()).or_default() += 1;
        }
        RunPage {
            id: "r1".into(),
            file: "g.xlsx".into(),
            version: 2,
            state: "Checked against Acme.".into(),
            data_state: "ready",
            counts: counts.into_iter().collect(),
            can_send: true,
            caption: "Preview".into(),
            header: vec!["Email".into(), "Time zone".into()],
            kept: rows.len() as u64,
            rows,
            fixable: true,
            ..RunPage::default()
        }
    }

    fn row(row: u64, status: &str, message: &str) -> TableRow {
        TableRow {
            row,
            status: status.into(),
            message: message.into(),
            cells: vec![format!("r{row}@example.com"), "Europe/Paris".into()],
        }
    }

    #[test]
    fn offending_cells_are_inputs_with_the_contracts_attributes() {
        let page = preview_with(vec![(
            row(7, "invalid", "Email \"a@\" is not an email address"),
            vec![("email".into(), 0)],
        )]);
        let html = render(&page);
        for wanted in [
            "data-test=\"row\" data-row=\"7\" data-status=\"invalid\"",
            "data-test=\"fix\" data-row=\"7\" data-field=\"email\"",
            "<span data-test=\"count\" data-status=\"invalid\">1</span>",
            "data-test=\"send\"",
            "<span data-test=\"state\" id=\"state\" data-state=\"ready\">Checked against Acme.</span>",
        ] {
            assert!(html.contains(wanted), "{wanted} in {html}");
        }
        assert!(!html.contains("style="), "inline styles are refused by the policy");
        // The status in words, never as the results write it.
        assert!(html.contains("needs fixing"), "{html}");
        assert!(!html.contains(">invalid<"), "{html}");
        // The next thing to do has the focus: the cell to fix.
        assert!(html.contains("data-field=\"email\" aria-label=\"Fix the Email of row 7 (Enter checks it again)\" spellcheck=\"false\" autocomplete=\"off\" autofocus>"), "{html}");
    }

    #[test]
    fn a_suggestion_is_a_button_and_the_table_is_a_page_at_a_time() {
        // The page's rows as `table::results` reads them: the row needing a person first.
        let mut rows = vec![(
            row(
                PAGE_ROWS as u64 + 102,
                "invalid",
                "Time zone \"Asia/Tokio\" is not a known time zone: did you mean Asia/Tokyo?",
            ),
            vec![("timezone".into(), 1)],
        )];
        rows.extend((2..PAGE_ROWS as u64 + 1).map(|r| (row(r, "would_create", ""), Vec::new())));
        let page = RunPage {
            kept: PAGE_ROWS as u64 + 101,
            ..preview_with(rows)
        };
        let html = render(&page);
        assert!(
            html.contains("name=\"suggested\" value=\"Asia/Tokyo\" data-test=\"suggestion\""),
            "{html}"
        );
        assert_eq!(html.matches("data-test=\"row\"").count(), PAGE_ROWS);
        assert!(html.contains("href=\"/runs/r1?page=2\" data-test=\"page\""), "{html}");
        assert!(
            html.contains(&format!("rows 1–{PAGE_ROWS} of {} (page 1 of 2)", PAGE_ROWS + 101)),
            "{html}"
        );
        let second = render(&RunPage {
            at: 1,
            rows: vec![(row(PAGE_ROWS as u64 + 101, "would_create", ""), Vec::new())],
            ..page
        });
        assert!(second.contains("href=\"/runs/r1?\" data-test=\"page\""), "{second}");
        assert!(!second.contains("page=3"), "{second}");
    }
}
