//! The page's HTML, from compiled askama templates (`src/ui/templates/`), which escape every
//! value they are given (text from a file cannot become markup): the runs list with the
//! upload, and a run's page (mapping, counts, the table with its offending cells as inputs, the
//! confirmation, the live state, downloads, undo). This file holds what the templates are
//! given; the markup is theirs. No inline script or style (the policy forbids them): the
//! behaviour is `assets`' script, which only submits, filters and applies live updates. The
//! `data-test` attributes are a contract with the browser tests (issue 25): keep them exact.

use askama::Template;

use super::table::{Columns, TableRow};

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
}

/// A status's count in the runs list.
pub(super) struct Pill {
    /// Its colour family.
    pub tone: &'static str,
    /// Rows.
    pub n: u64,
    /// The status.
    pub status: String,
}

impl RunLine {
    /// Its counts, coloured.
    pub(super) fn pills(&self) -> Vec<Pill> {
        self.counts
            .iter()
            .map(|(status, n)| Pill {
                tone: tone(status),
                n: *n,
                status: status.clone(),
            })
            .collect()
    }
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
    /// The state line: `running: …`, `done: …` or `stopped: …`.
    pub state: String,
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

/// A run's page, as the template takes it.
#[derive(Template)]
#[template(path = "run.html")]
pub(super) struct RunView<'a> {
    /// The organization the run goes to.
    pub organization: Option<String>,
    /// What the page shows.
    pub page: &'a RunPage,
}

/// One column of the mapping.
pub(super) struct MappedColumn {
    /// Its position (the form's `c0`, `c1`, ...).
    pub index: usize,
    /// Its header.
    pub name: String,
    /// The fields it can be imported as, the chosen one selected.
    pub options: Vec<Choice>,
    /// The column looks like a field it is not imported as.
    pub hint: Option<String>,
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
    /// Its status.
    pub status: String,
    /// The status's colour family.
    pub tone: &'static str,
    /// What happened.
    pub message: String,
    /// Its cells.
    pub cells: Vec<ShownCell>,
}

/// One cell of a row.
pub(super) struct ShownCell {
    /// What it holds.
    pub text: String,
    /// The field a person can fix it as, in place.
    pub fix: Option<String>,
    /// It is why the row cannot be imported.
    pub offending: bool,
}

impl RunView<'_> {
    /// The colour family of `status`.
    fn tone(&self, status: &str) -> &'static str {
        tone(status)
    }

    /// Some column looks like a field it is not imported as: the mapping opens by itself.
    fn hinted(&self) -> bool {
        self.page
            .columns
            .as_ref()
            .is_some_and(|c| c.hints.iter().any(Option::is_some))
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
                    label: "not imported",
                    selected: chosen.is_none(),
                };
                let fields = crate::input::Field::all()
                    .map(crate::input::Field::name)
                    .map(|field| Choice {
                        value: field,
                        label: field,
                        selected: chosen == Some(field),
                    });
                MappedColumn {
                    index,
                    name: name.clone(),
                    options: std::iter::once(ignore).chain(fields).collect(),
                    hint: columns.hints.get(index).cloned().flatten(),
                    changed: columns.detected.get(index).copied().flatten() != chosen,
                }
            })
            .collect()
    }

    /// The table's rows, each cell marked.
    fn rows(&self) -> Vec<ShownRow> {
        self.page
            .rows
            .iter()
            .map(|(row, offending)| ShownRow {
                row: row.row,
                status: row.status.clone(),
                tone: tone(&row.status),
                message: row.message.clone(),
                cells: row
                    .cells
                    .iter()
                    .enumerate()
                    .map(|(column, text)| {
                        let field = offending.iter().find(|(_, at)| *at == column).map(|(f, _)| f);
                        ShownCell {
                            text: text.clone(),
                            fix: field.filter(|_| self.page.fixable).cloned(),
                            offending: field.is_some(),
                        }
                    })
                    .collect(),
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
            live: false,
            error: None,
            columns: None,
            counts: vec![("invalid".into(), 1)],
            timing: None,
            can_send: true,
            confirm: None,
            can_stop: false,
            can_undo: false,
            downloads: vec![],
            needs_person: None,
            caption: "Preview".into(),
            header: vec!["Email".into(), "Name".into()],
            rows: vec![(row, vec![("email".into(), 0)])],
            more: 0,
            fixable: true,
        };
        let html = render(&page);
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
            html.contains("<span data-test=\"state\" id=\"state\">done: checked</span>"),
            "{html}"
        );
        assert!(!html.contains("style="), "inline styles are refused by the policy");
    }
}
