//! The one question an interactive import asks, after the guest list (and the members) are read
//! and the whole file is planned, so that it tells the truth: which organization (by name, so a
//! wrong one is noticed), how many guests will really be created (not the rows: those that
//! exist, repeat or need fixing are counted apart), and, when creates are paced or capped, how
//! long they take and when they will be done. Never asked when stdin or stderr is not a
//! terminal (cron, CI, a pipe), on a dry run, against the built-in sandbox, or with `--yes`.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local};

use super::act::undo::UndoPlan;
use super::engine::Confirm;
use super::outcome::Status;
use super::plan::Plan;
use crate::api::Client;
use crate::error::RunError;
use crate::modes::Removal;
use crate::rate::Rate;

/// Tallyfy's documented hourly cap on guest invitations per organization (see
/// `../shared/tallyfy-api.md`): more creates than this in an hour wait for it.
const INVITE_CAP_PER_HOUR: u64 = 30;

/// What the question needs besides the plan.
#[derive(Debug, Clone)]
pub struct Question {
    /// `undo`: how its guests are taken away.
    pub undo: Option<Removal>,
    /// What else the run does, said in the question (`--on-missing delete`).
    pub also: Option<String>,
    /// `--invite-rate`, which paces the creates.
    pub invite_rates: Vec<Rate>,
}

/// What the planned file will do, counted before anything is sent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Preview {
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
    pub fn of_import(plans: &[Plan]) -> Preview {
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

    pub fn of_undo(plans: &[UndoPlan], how: Removal) -> Preview {
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

    /// Whether the run would send anything that changes a guest (else nothing is asked).
    pub fn sends(&self) -> bool {
        self.creates + self.updates + self.removes > 0
    }
}

/// Whether a person is there to answer: stdin and stderr are both terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The CLI's answer to a job's question: asked on the terminal (stderr), answered on stdin; a
/// `y` or `yes` goes ahead, anything else is a no. A run stopped while it waits (Ctrl-C at
/// the question) no longer waits for the answer, and the question is left unanswered.
pub(super) async fn on_terminal(mut confirm: Confirm) {
    let text = confirm.text();
    let read = tokio::task::spawn_blocking(move || {
        let mut stderr = std::io::stderr();
        let _ = stderr.write_all(text.as_bytes());
        let _ = stderr.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    });
    let read = tokio::select! {
        read = read => read,
        () = confirm.abandoned() => return,
    };
    let answer = read
        .map_err(|e| RunError::io("cannot read the answer", std::io::Error::other(e)))
        .and_then(|line| line.map_err(|e| RunError::io("cannot read the answer", e)))
        .and_then(|answer| match answer.trim().to_lowercase().as_str() {
            "y" | "yes" => Ok(()),
            _ => Err(RunError::Declined),
        });
    confirm.reply(answer);
}

/// The organization as the question names it: by name, so a wrong one is noticed.
pub(super) async fn organization(client: &Client) -> String {
    match client.organization_name().await {
        Some(name) => format!("{name} ({})", client.org()),
        None => client.org().to_string(),
    }
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
        besides.push(format!("{} {verb} fixing (see the results)", rows(p.need_fixing)));
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
    let timing = timing(p.creates, &question.invite_rates, now).map_or(String::new(), |t| format!(" {t}"));
    let also = question.also.as_ref().map_or(String::new(), |also| format!(" {also}"));
    format!("{action}?{besides}{invites}{timing}{also} [y/N] ")
}

/// How long `creates` take under the pace (`--invite-rate`, evenly spread: the first at once)
/// and Tallyfy's hourly invite cap, and when they will be done; `None` when it is quick.
fn timing(creates: u64, rates: &[Rate], now: SystemTime) -> Option<String> {
    let slowest = rates.iter().max_by_key(|rate| rate.period / rate.count.get());
    let paced = slowest.map_or(Duration::ZERO, |rate| {
        (rate.period / rate.count.get()).saturating_mul(u32::try_from(creates.saturating_sub(1)).unwrap_or(u32::MAX))
    });
    // Past the cap, each further hour's worth waits for the window to open again.
    let capped = Duration::from_secs(3600 * (creates.saturating_sub(1) / INVITE_CAP_PER_HOUR));
    let takes = paced.max(capped);
    if takes < Duration::from_secs(60) {
        return None;
    }
    let done: DateTime<Local> = (now + takes).into();
    let why = match slowest {
        Some(rate) if paced >= capped => format!("At --invite-rate {rate}"),
        _ => format!("Tallyfy allows about {INVITE_CAP_PER_HOUR} invitations an hour per organization:"),
    };
    let when = if takes >= Duration::from_secs(20 * 3600) {
        done.format("%a %-d %b %H:%M %:z")
    } else {
        done.format("%H:%M %:z")
    };
    Some(format!(
        "{why} the {} creates take about {}: done about {when}.",
        creates,
        human(takes)
    ))
}

/// A duration as a person says it: `2 min`, `1 h 18 min`, `2 days 3 h`.
pub(super) fn human(duration: Duration) -> String {
    let minutes = duration.as_secs().div_ceil(60);
    match (minutes / (24 * 60), minutes / 60 % 24, minutes % 60) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, h, _) => format!("1 day {h} h"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(rates: &[&str]) -> Question {
        Question {
            undo: None,
            also: None,
            invite_rates: rates.iter().map(|r| r.parse().unwrap()).collect(),
        }
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
            text.contains("At --invite-rate 30/1h the 41 creates take about 1 h 20 min: done about "),
            "{text}"
        );
        let text = wording("o", &question(&[]), &preview, SystemTime::now());
        assert!(
            text.contains("about 30 invitations an hour per organization: the 41 creates take about 1 h"),
            "{text}"
        );
        assert_eq!(timing(5, &[], SystemTime::now()), None);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(Duration::from_secs(61)), "2 min");
        assert_eq!(human(Duration::from_secs(3600)), "1 h");
        assert_eq!(human(Duration::from_secs(4680)), "1 h 18 min");
        assert_eq!(human(Duration::from_secs(3 * 86400 + 7200)), "3 days 2 h");
    }
}
