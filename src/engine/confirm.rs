//! The one question an interactive import asks, after the guest list (and the members) are read
//! and the whole file is planned, so that it tells the truth: which organization (by name, so a
//! wrong one is noticed), how many guests will really be created (not the rows: those that
//! exist, repeat or need fixing are counted apart), and, when creates are paced or capped, how
//! long they take and when they will be done. Never asked when stdin or stderr is not a
//! terminal (cron, CI, a pipe), on a dry run, against the built-in sandbox, or with `--yes`.
//! This module words the question; asking it is a face's (`commands::import` on the terminal, the page).

use std::io::IsTerminal;
use std::time::{Duration, SystemTime};

use super::act::undo::UndoPlan;
use super::outcome::Status;
use super::plan::Plan;
use crate::api::Client;
use crate::invite_pace::{Estimate, Schedule, human};
use crate::modes::{ErrorBudget, Removal};

/// What the question needs besides the plan.
#[derive(Debug, Clone)]
pub(super) struct Question {
    /// `undo`: how its guests are taken away.
    pub undo: Option<Removal>,
    /// `--on-missing disable|delete`: the question says how many guests it takes away.
    pub on_missing: Option<OnMissing>,
    /// The schedule the creates will keep (`--invite-rate`, the organization's cap when it is
    /// remembered): how long they take, by the one model every estimate uses.
    pub schedule: Schedule,
    /// The command that continues this job unattended (`import --retry-from RESULTS --yes`,
    /// the run's other options kept), when its results go to a file.
    pub rerun: Option<String>,
    /// `--max-wait` when given: a confirmed run defers its creates at the first pause longer
    /// than this; without it, it waits out the invite cap's windows.
    pub max_wait: Option<Duration>,
    /// Asked on the page: the same question, with the page's settings in a person's words
    /// (the page has no flags to name) and its rows in the table rather than a results file.
    pub page: bool,
}

/// What `--on-missing` will do with the guests no row names, as the question says it.
#[derive(Debug, Clone, Copy)]
pub(super) struct OnMissing {
    pub how: Removal,
    /// `--max-missing`.
    pub budget: ErrorBudget,
    /// A delete without `--include-used`: guests with work are kept (`in_use`), and the
    /// question counts them.
    pub keeps_used: bool,
}

/// The existing guests no row of the planned file names, counted before anything is sent: a
/// preview (the mirror reads each one back before acting, and may keep more), never fewer
/// than the mirror finds, since running the rows only names more guests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Missing {
    /// Those the mirror would act on, counted against `--max-missing` (as the mirror counts
    /// them: a disable skips guests already disabled).
    pub to_touch: u64,
    /// Of `to_touch`, those with work, which a delete keeps (`in_use`).
    pub in_use: u64,
    /// What `--max-missing` allows in this organization.
    pub allowed: u64,
}

/// What the planned file will do, counted before anything is sent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Preview {
    pub creates: u64,
    /// Member updates and re-enables of existing guests.
    pub updates: u64,
    pub exists: u64,
    pub duplicates: u64,
    /// Rows that cannot be sent as they are: invalid, or known to be refused.
    pub need_fixing: u64,
    /// Rows an earlier run finished (`--retry-from`), carried over as they are.
    pub done_before: u64,
    /// `undo`: guests to take away, and rows left alone.
    pub removes: u64,
    pub left_alone: u64,
    /// Rows per status as planned (rows to update as `updated`, an undo's rows to take away
    /// as `deleted` or `disabled`; creates are `creates` alone), for `Event::Planned`.
    pub counts: Vec<(Status, u64)>,
    /// `--on-missing`: the guests the file does not name.
    pub missing: Option<Missing>,
}

/// `statuses` counted, in status order.
fn tally(statuses: impl Iterator<Item = Status>) -> Vec<(Status, u64)> {
    let mut counts = std::collections::BTreeMap::new();
    for status in statuses {
        *counts.entry(status).or_default() += 1;
    }
    counts.into_iter().collect()
}

impl Preview {
    pub(super) fn of_import(plans: &[Plan]) -> Preview {
        let mut preview = Preview::default();
        for plan in plans {
            match plan {
                Plan::Create(..) => preview.creates += 1,
                Plan::Update(..) => preview.updates += 1,
                Plan::Done(result) => match result.outcome.status {
                    Status::Exists => preview.exists += 1,
                    Status::Duplicate => preview.duplicates += 1,
                    status if status.needs_a_person() => preview.need_fixing += 1,
                    _ => preview.done_before += 1,
                },
            }
        }
        preview.counts = tally(plans.iter().filter_map(|plan| match plan {
            Plan::Create(..) => None,
            Plan::Update(..) => Some(Status::Updated),
            Plan::Done(result) => Some(result.outcome.status),
        }));
        preview
    }

    pub(super) fn of_undo(plans: &[UndoPlan], how: Removal) -> Preview {
        let mut preview = Preview::default();
        for plan in plans {
            match plan {
                UndoPlan::Remove { .. } => preview.removes += 1,
                UndoPlan::Done(_) => preview.left_alone += 1,
            }
        }
        let removed = match how {
            Removal::Delete => Status::Deleted,
            Removal::Disable => Status::Disabled,
        };
        preview.counts = tally(plans.iter().map(|plan| match plan {
            UndoPlan::Remove { .. } => removed,
            UndoPlan::Done(result) => result.outcome.status,
        }));
        preview
    }

    /// Whether the run would send anything that changes a guest (else nothing is asked): a
    /// create, an update, an undo's removal, or a mirror's (within its budget; one whose
    /// missing guests all have work is asked too, since a guest's work can end before the
    /// mirror reads it back).
    pub(super) fn sends(&self) -> bool {
        let mirrors = self.missing.is_some_and(|m| m.to_touch > 0 && m.to_touch <= m.allowed);
        self.creates + self.updates + self.removes > 0 || mirrors
    }
}

/// Whether a person is there to answer: stdin and stderr are both terminals.
pub(crate) fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The organization as the question names it: by name, so a wrong one is noticed.
pub(super) async fn organization(client: &Client) -> String {
    client.organization_label().await
}

fn guests(n: u64) -> String {
    if n == 1 {
        "1 guest".into()
    } else {
        format!("{n} guests")
    }
}

fn rows(n: u64) -> String {
    if n == 1 { "1 row".into() } else { format!("{n} rows") }
}

/// The question's words: `Create 2 guests in ‹org›? 11 already exist, 6 rows need fixing. …`.
pub(super) fn wording(org: &str, question: &Question, p: &Preview, now: SystemTime) -> String {
    if let Some(how) = question.undo {
        let (verb, from, note) = match how {
            Removal::Delete => ("Delete", "from", "; deleting cannot be undone"),
            Removal::Disable => ("Disable", "in", ""),
        };
        let alone = if p.left_alone > 0 {
            format!(
                " ({} the results do not say were created are left alone)",
                rows(p.left_alone)
            )
        } else {
            String::new()
        };
        return format!(
            "{verb} {} {from} {org}? Only those the results say were created{alone}{note}. [y/N] ",
            guests(p.removes)
        );
    }
    let mut action = match (p.creates, p.updates) {
        // Only `also` to ask about (`--on-missing`): nothing to create.
        (0, 0) => format!("Go ahead in {org}"),
        (0, _) => format!("Update {} in {org}", guests(p.updates)),
        (creates, _) => format!("Create {} in {org}", guests(creates)),
    };
    if p.creates > 0 && p.updates > 0 {
        action.push_str(&format!(" and update {} existing", guests(p.updates)));
    }
    let mut besides = Vec::new();
    if p.exists > 0 {
        let verb = if p.exists == 1 { "exists" } else { "exist" };
        besides.push(format!("{} already {verb}", p.exists));
    }
    if p.duplicates > 0 {
        let verb = if p.duplicates == 1 { "repeats" } else { "repeat" };
        besides.push(format!("{} {verb} an earlier row", rows(p.duplicates)));
    }
    if p.need_fixing > 0 {
        let verb = if p.need_fixing == 1 { "needs" } else { "need" };
        let see = if question.page {
            "marked in the table"
        } else {
            "see the results"
        };
        besides.push(format!("{} {verb} fixing ({see})", rows(p.need_fixing)));
    }
    if p.done_before > 0 {
        besides.push(format!("{} done by an earlier run", rows(p.done_before)));
    }
    let besides = if besides.is_empty() {
        String::new()
    } else {
        format!(" {}.", besides.join(", "))
    };
    let invites = if p.creates > 0 {
        " Each new guest is emailed an invitation."
    } else {
        ""
    };
    let timing = timing(question, p.creates, now);
    let also = match (question.on_missing, p.missing) {
        (Some(rule), Some(missing)) => format!(" {}", on_missing(rule, missing)),
        _ => String::new(),
    };
    format!("{action}?{besides}{invites}{timing}{also} [y/N] ")
}

/// The plan as a yes makes it: the `creates` wait out the cap's windows, within an explicit
/// `--max-wait` only.
fn planned(question: &Question, creates: u64, now: SystemTime) -> Estimate {
    let mut schedule = question.schedule.clone();
    schedule.set_bound(question.max_wait);
    schedule.estimate(creates, now)
}

/// How long the `creates` take and when they will be done, at which pace (" At ...: done about
/// ..."), and, with an explicit `--max-wait`, what a yes does at its first longer pause; empty
/// when they all go at once. In the page's words on the page.
fn timing(question: &Question, creates: u64, now: SystemTime) -> String {
    let estimate = planned(question, creates, now);
    let sentence = if question.page {
        estimate.page_sentence()
    } else {
        estimate.sentence()
    };
    let timing = sentence.map_or(String::new(), |t| format!(" {t}"));
    // Said only when creates may meet the cap: what a "yes" does at its pause.
    let bound = match question.max_wait {
        Some(bound) if !timing.is_empty() => format!(
            " {}, the creates left are deferred at the first pause longer than that.{}",
            match question.page {
                false => format!("With --max-wait {}", humantime::format_duration(bound)),
                true => format!("With the longest wait this page was started with ({})", human(bound)),
            },
            estimate.stop_sentence(now).map_or(String::new(), |t| format!(" {t}"))
        ),
        _ => String::new(),
    };
    format!("{timing}{bound}")
}

/// A plan that takes at least this long is a job of hours: after the yes, the terminal says how
/// to leave it to cron or a timer instead.
const HOURS: Duration = Duration::from_secs(3600);

/// After a yes to a plan of hours, in the terminal's words (a command line, so the page has its
/// own): how to leave the job running unattended instead (issue 32, point 2). `None` when the
/// creates take less than an hour, or the results go to no file to continue from.
pub(super) fn leave_running(question: &Question, p: &Preview, now: SystemTime) -> Option<String> {
    let estimate = planned(question, p.creates, now);
    let rerun = question.rerun.as_deref().filter(|_| estimate.takes >= HOURS)?;
    // An explicit `--max-wait` that stops the creates ends this run by itself: the rest is
    // left for the command, not for a Ctrl-C.
    let how = match (question.max_wait, estimate.stop) {
        (Some(bound), Some(_)) => format!(
            "This run stops at the first wait longer than --max-wait {}; to finish the job unattended, have",
            humantime::format_duration(bound)
        ),
        _ => "To leave the job running unattended instead, stop it (Ctrl-C: the guests not invited yet are kept in the results as deferred) and have".to_string(),
    };
    Some(format!(
        "The creates take about {}. {how} cron or a systemd timer run this every hour until it exits 0: {rerun}  Each run invites what the cap allows and the next continues where it stopped; the token is read from the environment or --token-file, never from the command line.",
        human(estimate.takes)
    ))
}

/// What an unattended run says in its log at its start: that creates beyond the cap are
/// deferred, and, when its rows could meet a wait longer than `max_wait` at the pace of
/// `estimate` (every row a create, at most), the command cron or a timer runs to continue the
/// job.
pub(super) fn unattended(max_wait: Duration, estimate: Option<&Estimate>, rerun: Option<&str>) -> String {
    let mut text = format!(
        "unattended: creates beyond Tallyfy's hourly invite cap are deferred for the next run (at the first pause longer than --max-wait {})",
        humantime::format_duration(max_wait)
    );
    if let (Some(estimate), Some(rerun)) = (estimate, rerun)
        && estimate.stop.is_some()
    {
        text.push_str(&format!(
            "; its {} rows, if all are new guests, take about {} at {}: run this from cron or a systemd timer until it exits 0, each run continues where the last stopped: {rerun}",
            estimate.creates,
            human(estimate.takes),
            estimate.pace.words()
        ));
    }
    text
}

/// What `--on-missing` will do, with the counts: `Guests not in the file will be deleted: 9 of
/// them (at most 50); 3 more, with tasks assigned or who have signed in, are kept as in_use.`
fn on_missing(rule: OnMissing, m: Missing) -> String {
    let done = rule.how.done();
    if m.to_touch > m.allowed {
        return format!(
            "{} not in the file, more than --max-missing {} allows: none will be {done}, and the run stops there.",
            guests(m.to_touch),
            rule.budget
        );
    }
    let of = match rule.budget {
        ErrorBudget::Rows(_) => String::new(),
        ErrorBudget::Percent(_) => format!(", {} of the organization's guests", m.allowed),
    };
    let (to_go, kept) = if rule.keeps_used {
        (m.to_touch - m.in_use, m.in_use)
    } else {
        (m.to_touch, 0)
    };
    let kept = match kept {
        0 => String::new(),
        1 => "; 1 more, with tasks assigned or who has signed in, is kept as in_use".to_string(),
        kept => format!("; {kept} more, with tasks assigned or who have signed in, are kept as in_use"),
    };
    format!(
        "Guests not in the file will be {done}: {to_go} of them (at most {}{of}){kept}.",
        rule.budget
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(rates: &[&str]) -> Question {
        let rates: Vec<crate::rate::Rate> = rates.iter().map(|r| r.parse().unwrap()).collect();
        Question {
            undo: None,
            on_missing: None,
            schedule: Schedule::new(&rates),
            rerun: Some("tallyfy-guests import --retry-from g.results.csv --yes".into()),
            max_wait: None,
            page: false,
        }
    }

    /// The page's question is the same text in a person's words: the pace and the longest wait
    /// it was started with, and its rows in the table, without a flag (issue 33).
    #[test]
    fn the_page_asks_the_same_question_without_a_flag() {
        let preview = Preview {
            creates: 41,
            need_fixing: 2,
            ..Preview::default()
        };
        let now = SystemTime::now();
        let terminal = Question {
            max_wait: Some(Duration::from_secs(600)),
            ..question(&["30/h"])
        };
        let page = Question {
            page: true,
            ..terminal.clone()
        };
        let (said, shown) = (
            wording("o", &terminal, &preview, now),
            wording("o", &page, &preview, now),
        );
        assert!(said.contains("--invite-rate") && said.contains("--max-wait"), "{said}");
        assert!(!shown.contains("--"), "{shown}");
        assert!(
            shown.contains("2 rows need fixing (marked in the table)")
                && shown.contains("At the invite pace this page was started with (")
                && shown.contains(
                    "With the longest wait this page was started with (10 min), the creates left are deferred"
                ),
            "{shown}"
        );
        // Otherwise the one text: the same counts and the same finish.
        let finish = |text: &str| text.split("done ").nth(1).map(|rest| rest[..12].to_string());
        assert!(finish(&said).is_some(), "{said}");
        assert_eq!(finish(&said), finish(&shown), "{said}\n{shown}");
    }

    #[test]
    fn the_question_gives_the_real_counts() {
        let preview = Preview {
            creates: 2,
            exists: 11,
            need_fixing: 6,
            ..Preview::default()
        };
        assert_eq!(
            wording("Acme (org1)", &question(&[]), &preview, SystemTime::now()),
            "Create 2 guests in Acme (org1)? 11 already exist, 6 rows need fixing (see the results). Each new guest is emailed an invitation. [y/N] "
        );
    }

    #[test]
    fn paced_creates_say_how_long_and_when() {
        let preview = Preview {
            creates: 41,
            ..Preview::default()
        };
        let text = wording("o", &question(&["30/h"]), &preview, SystemTime::now());
        assert!(
            text.contains("At --invite-rate 30/1h the 41 creates take about 1 h 3 min: done about "),
            "{text}"
        );
        let text = wording("o", &question(&[]), &preview, SystemTime::now());
        assert!(
            text.contains("about 30 invitations an hour per organization (full speed until it says so, then its pace): the 41 creates take about 1 h 3 min"),
            "{text}"
        );
    }

    #[test]
    fn a_plan_of_hours_says_how_to_leave_it_to_cron() {
        let preview = |creates| Preview {
            creates,
            ..Preview::default()
        };
        let now = SystemTime::now();
        let text = leave_running(&question(&[]), &preview(41), now).unwrap();
        assert!(
            text.starts_with(
                "The creates take about 1 h 3 min. To leave the job running unattended instead, stop it (Ctrl-C"
            ),
            "{text}"
        );
        assert!(
            text.contains("until it exits 0: tallyfy-guests import --retry-from g.results.csv --yes  Each run"),
            "{text}"
        );
        assert_eq!(leave_running(&question(&[]), &preview(30), now), None, "not hours");
        // An explicit --max-wait that stops the creates: the run ends itself, no Ctrl-C.
        let mut bounded = question(&[]);
        bounded.max_wait = Some(Duration::from_secs(600));
        let text = leave_running(&bounded, &preview(41), now).unwrap();
        assert!(
            text.starts_with("The creates take about 1 h 3 min. This run stops at the first wait longer than --max-wait 10m; to finish the job unattended, have cron or a systemd timer run this every hour until it exits 0: tallyfy-guests import"),
            "{text}"
        );
        let mut no_file = question(&[]);
        no_file.rerun = None;
        assert_eq!(
            leave_running(&no_file, &preview(41), now),
            None,
            "no results to continue from"
        );
        // Unattended, the pacer's schedule is bounded by --max-wait: the 11th create's wait.
        let mut schedule = Schedule::new(&["10/6s".parse().unwrap()]);
        schedule.set_bound(Some(Duration::from_secs(1)));
        let estimate = schedule.estimate(35, now);
        let log = unattended(
            Duration::from_secs(1),
            Some(&estimate),
            Some("tg import --retry-from r.csv --yes"),
        );
        assert!(
            log.ends_with("; its 35 rows, if all are new guests, take about 19 s at --invite-rate 10/6s: run this from cron or a systemd timer until it exits 0, each run continues where the last stopped: tg import --retry-from r.csv --yes"),
            "{log}"
        );
        schedule.set_bound(Some(Duration::from_secs(60)));
        let within = schedule.estimate(35, now);
        assert!(!unattended(Duration::from_secs(60), Some(&within), Some("tg")).contains("cron"));
    }

    #[test]
    fn a_mirror_says_how_many_go_and_how_many_with_work_stay() {
        let rule = OnMissing {
            how: Removal::Delete,
            budget: ErrorBudget::Rows(50),
            keeps_used: true,
        };
        let missing = Missing {
            to_touch: 12,
            in_use: 3,
            allowed: 50,
        };
        assert_eq!(
            on_missing(rule, missing),
            "Guests not in the file will be deleted: 9 of them (at most 50); 3 more, with tasks assigned or who have signed in, are kept as in_use."
        );
        let disable = OnMissing {
            how: Removal::Disable,
            keeps_used: false,
            budget: ErrorBudget::Percent(5.0),
        };
        let missing = Missing {
            to_touch: 2,
            in_use: 1,
            allowed: 7,
        };
        assert_eq!(
            on_missing(disable, missing),
            "Guests not in the file will be disabled: 2 of them (at most 5%, 7 of the organization's guests)."
        );
        let over = Missing {
            to_touch: 51,
            in_use: 0,
            allowed: 50,
        };
        assert_eq!(
            on_missing(rule, over),
            "51 guests not in the file, more than --max-missing 50 allows: none will be deleted, and the run stops there."
        );
        // None missing, or too many: the mirror sends nothing.
        for missing in [Missing::default(), over] {
            let preview = Preview {
                missing: Some(missing),
                ..Preview::default()
            };
            assert!(!preview.sends(), "{missing:?}");
        }
    }
}
