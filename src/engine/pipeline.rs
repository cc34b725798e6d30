//! The run itself: the reader, the prefetch of existing guests, planning in input order and
//! `concurrency` rows in flight, the results writer fed as rows finish, and the stops (signals,
//! `--max-errors`, a results file that cannot be written) that turn what is left into `deferred`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use futures::future::{self, Either};

use super::act::execute::run_plan;
use super::act::mirror;
use super::act::undo;
use super::confirm::{self, Question};
use super::event::{self, Event, Events, Listing, Wait};
use super::link::Link;
use super::options::{Options, Rows};
use super::outcome::Status;
use super::plan::dedupe::{Deduper, Emails, KeptIds, Presence};
use super::plan::prefetch;
use super::plan::reader;
use super::plan::{Plan, plan};
use super::report::results::{ResultsWriter, RowResult};
use super::report::summary::Summary;
use super::stop::Stop;
use crate::api::Client;
use crate::api::pacing::Lane;
use crate::error::RunError;
use crate::input::Input;

/// A run that sends events yields to their watchers after this many rows.
const YIELD_ROWS: u64 = 256;

/// The most rows the email table is sized for up front (4 M buckets: 4 MB of control bytes
/// written at once, the slots only as they fill); a bigger file grows it as it goes.
const MAX_RESERVED_ROWS: u64 = 2_000_000;

/// What a run's rows came to, and what the mirror step needs to know.
pub(super) struct Ran {
    pub summary: Summary,
    /// Existing guests no row named, and those rows only mention (with `--report-missing`).
    pub missing: Option<Presence>,
    /// Guests the organization had when the run began.
    pub org_guests: u64,
    /// Every row of the file was read, and nothing stopped the run.
    pub whole_file: bool,
}

/// Runs the file. The results are opened (`open_results`) only once the run will go ahead: after
/// the question, when one is to be asked (`ask`), so a declined run leaves any earlier results
/// file as it was.
pub(super) async fn pipeline(
    input: Input,
    link: &Link,
    open_results: impl FnOnce() -> Result<ResultsWriter, RunError>,
    ask: Option<&Question>,
    options: &Options,
    stop: &Arc<Stop>,
    events: &Events,
) -> Result<Ran, RunError> {
    let started = Instant::now();
    let map = input.map.clone();
    let limit = input.limit();
    let (rx, reader) = reader::spawn(input, Arc::clone(stop));
    let records = tokio_stream::wrappers::ReceiverStream::new(rx).flat_map(futures::stream::iter);
    let client = link.client().map(|client| &**client);
    // The question is asked only with a client to send through.
    let feed = Feed {
        map,
        link,
        ask: ask.zip(client),
        options,
        stop,
        events,
    };
    // The job's per-row handler, chosen once from its kind.
    let (results, driven) = match &options.rows {
        Rows::Undo(rules) => feed.undo(records, rules, open_results).await?,
        Rows::Import => feed.import(records, open_results).await?,
    };
    let Driven {
        mut summary,
        write_failed,
        missing,
        org_guests,
    } = driven;
    let read_whole = reader
        .await
        .map_err(|e| RunError::io("the file reader failed", std::io::Error::other(e)))?;
    let whole_file = read_whole && stop.reason().is_none();
    if !write_failed {
        // `result_of` on every row says the file is whole: the input read to its end (or to
        // `--limit`) and every row given its result.
        let whole = whole_file.then(|| match limit {
            Some(limit) => format!("the input was cut on purpose by --limit {limit}"),
            None => "the whole input".to_string(),
        });
        match results.finish(whole.as_deref()) {
            Ok(written) => debug_assert_eq!(written, summary.rows()),
            Err(error) => {
                results_trouble(Err(error), stop);
            }
        }
    }

    summary.elapsed = started.elapsed();
    summary.stopped = stop.invite_reason().map(str::to_string);
    if let Some(client) = client {
        let stats = client.stats();
        client.remember_invite_cap();
        summary.paused = client.pacer().paused();
        summary.retries = stats.retries.load(std::sync::atomic::Ordering::Relaxed);
        summary.rate_limited = stats.rate_limited.load(std::sync::atomic::Ordering::Relaxed);
    }
    Ok(Ran {
        summary,
        missing,
        org_guests,
        // A halted reader says it did not read the whole file.
        whole_file,
    })
}

/// What a file's rows go through, whichever the job's per-row handler.
struct Feed<'a> {
    map: crate::input::FieldMap,
    link: &'a Link,
    /// The question, and the client it names the organization through.
    ask: Option<(&'a Question, &'a Client)>,
    options: &'a Options,
    stop: &'a Arc<Stop>,
    events: &'a Events,
}

/// What the rows came to: the counts, whether the results could no longer be written, and
/// (an import with `--report-missing`) the guests no row named, of how many.
struct Driven {
    summary: Summary,
    write_failed: bool,
    missing: Option<Presence>,
    org_guests: u64,
}

impl Feed<'_> {
    /// An undo's rows: each takes back the guest its row says was created, by `rules`.
    async fn undo(
        &self,
        records: impl futures::Stream<Item = reader::Parsed>,
        rules: &undo::Rules,
        open_results: impl FnOnce() -> Result<ResultsWriter, RunError>,
    ) -> Result<(ResultsWriter, Driven), RunError> {
        let Feed { options, stop, .. } = *self;
        let how = rules.how;
        let plans = records.map(|parsed| undo::plan(parsed, &self.map, how, self.link));
        let preview = |plans: &[undo::UndoPlan]| confirm::Preview::of_undo(plans, how);
        let plans = asked_first(plans, self.ask, preview, stop, self.events).await?;
        let rows = plans
            .map(|plan| async { (undo::run(plan, rules, stop, &options.journal).await, 0) })
            .buffer_unordered(options.concurrency);
        let mut results = open_results()?;
        let (summary, write_failed) = self.drive(&mut results).drive(rows).await?;
        let driven = Driven {
            summary,
            write_failed,
            missing: None,
            org_guests: 0,
        };
        Ok((results, driven))
    }

    /// An import's rows: the organization's guests read first, then each row planned against
    /// them in input order and carried out.
    async fn import(
        &self,
        records: impl futures::Stream<Item = reader::Parsed>,
        open_results: impl FnOnce() -> Result<ResultsWriter, RunError>,
    ) -> Result<(ResultsWriter, Driven), RunError> {
        let Feed {
            options, stop, events, ..
        } = *self;
        let mut existing = self.existing().await?;
        let org_guests = existing.len() as u64;
        if existing.is_empty() {
            // Sized once for the file's rows instead of grown by doubling (which rehashed the
            // whole table each time: 9 % of a million-row dry run). A guess, so bounded.
            existing.reserve_rows(options.expected_rows.unwrap_or(0).min(MAX_RESERVED_ROWS) as usize);
        }
        let mut dedupe = Deduper::new(existing);
        // The guests rows were matched to by id are in the file, whatever their spelling there.
        let mut kept = KeptIds::default();
        // Planned as `asked_first` does, but here by hand: the question also counts the guests
        // the planned file does not name, which needs the dedupe table the plans borrow.
        let plans = match self.ask {
            Some((question, client)) => {
                let held: Vec<Plan> = records
                    .map(|parsed| plan(&mut dedupe, parsed, &self.map, options, self.link))
                    .collect()
                    .await;
                let mut preview = confirm::Preview::of_import(&held);
                preview.missing = question
                    .on_missing
                    .map(|rule| missing_preview(&dedupe, &kept, rule, org_guests));
                confirmed(question, client, preview, stop, events).await?;
                Either::Left(futures::stream::iter(held))
            }
            None => Either::Right(records.map(|parsed| plan(&mut dedupe, parsed, &self.map, options, self.link))),
        };
        let rows = plans
            .inspect(|plan| {
                if let Plan::Create(record, ..) = plan {
                    events.send(Event::Creating { row: record.row });
                }
            })
            .map(|plan| match plan {
                // A row that needs no request is ready as it is; one that does is boxed, so
                // that what moves through the buffer is small (the request's state machine
                // is kilobytes: moving it was 8 % of a dry run).
                Plan::Done(result) => Either::Left(future::ready((result, 0))),
                plan => Either::Right(Box::pin(run_plan(plan, stop, options))),
            })
            .buffer_unordered(options.concurrency)
            .inspect(|(result, _)| {
                if options.report_missing {
                    kept.keep(&result.outcome.guest_id);
                }
            });
        let mut results = open_results()?;
        let (summary, write_failed) = self.drive(&mut results).drive(rows).await?;
        let missing = options.report_missing.then(|| dedupe.presence(&kept, &self.map));
        let driven = Driven {
            summary,
            write_failed,
            missing,
            org_guests,
        };
        Ok((results, driven))
    }

    /// The organization's guests (and, alongside, its members), read while the reader fills
    /// the channel; none offline.
    async fn existing(&self) -> Result<Emails, RunError> {
        let (options, stop) = (self.options, self.stop);
        let Some(client) = self.link.client() else {
            return Ok(Emails::default());
        };
        let events = self.events;
        let reading = |list: Listing| {
            move |walked: prefetch::Walked| {
                events.send(Event::Reading {
                    list,
                    pages: walked.pages,
                    read: walked.read,
                    of_pages: walked.of_pages,
                });
            }
        };
        let (guests, members) = (reading(Listing::Guests), reading(Listing::Members));
        // The guests' task statistics, only for a question that counts those a delete keeps.
        let with_stats = self
            .ask
            .is_some_and(|(question, _)| question.on_missing.is_some_and(|rule| rule.keeps_used));
        let both = future::join(
            prefetch::existing_guests(client, options.concurrency, options.report_missing, with_stats, &guests),
            prefetch::members(client, options.concurrency, &members),
        );
        let Some((existing, members)) = stop.unless_abandoned(both).await else {
            return Err(RunError::Interrupted);
        };
        // The guest list's own failure is the one to tell when both lists fail.
        let existing = existing?;
        if let Some(members) = members? {
            let _ = options.members.set(members);
        }
        Ok(existing)
    }

    /// The run loop over `results`.
    fn drive<'r>(&'r self, results: &'r mut ResultsWriter) -> Drive<'r> {
        Drive {
            results,
            options: self.options,
            stop: self.stop,
            client: self.link.client().map(|client| &**client),
            events: self.events,
            waiting: [None, None],
        }
    }
}

/// With a question to ask (`ask`), plans the whole file first and asks it with the real counts
/// (`preview` of the plans), unless the run is stopped first (Ctrl-C at the question): either
/// way, a run that does not go ahead has sent and written nothing. The plans are held, so the
/// file is read once and what the person said yes to is exactly what is sent, even if the file
/// changes on disk while the question waits. That memory is the file's rows, fine for the file
/// of a person at a terminal; a run that asks nothing (cron, a pipe, --yes) streams with flat
/// memory as before.
async fn asked_first<S, T>(
    plans: S,
    ask: Option<(&Question, &Client)>,
    preview: impl Fn(&[T]) -> confirm::Preview,
    stop: &Stop,
    events: &Events,
) -> Result<Either<futures::stream::Iter<std::vec::IntoIter<T>>, S>, RunError>
where
    S: futures::Stream<Item = T>,
{
    let Some((question, client)) = ask else {
        return Ok(Either::Right(plans));
    };
    let held: Vec<T> = plans.collect().await;
    confirmed(question, client, preview(&held), stop, events).await?;
    Ok(Either::Left(futures::stream::iter(held)))
}

/// Asks `question` with the counts of the held plans (`preview`), unless the run would send
/// nothing; returns once the person said yes.
async fn confirmed(
    question: &Question,
    client: &Client,
    preview: confirm::Preview,
    stop: &Stop,
    events: &Events,
) -> Result<(), RunError> {
    // A run that would send nothing asks nothing.
    if !preview.sends() {
        events.send(Event::Planned {
            counts: preview.counts,
            creates: preview.creates,
            confirm: None,
        });
    } else {
        let org = tokio::select! {
            org = confirm::organization(client) => org,
            () = stop.gate.closed(Lane::Request) => return Err(RunError::Interrupted),
        };
        let creates = preview.creates;
        event::answer(events, org, question.clone(), preview, stop).await?;
        // What the person confirmed is what happens: creates wait for the cap's windows.
        client.pacer().plan_confirmed(question.max_wait, creates);
    }
    Ok(())
}

/// The guests the planned file does not name, as the question counts them: the mirror's own
/// presence (`Deduper::missing`) and rules (`mirror::touches`, `existing::work` through
/// `Profile::used`), before the rows run (which can only name more guests, by id).
fn missing_preview(dedupe: &Deduper, kept: &KeptIds, rule: confirm::OnMissing, org_guests: u64) -> confirm::Missing {
    let missing = dedupe.missing(kept);
    let touched = missing.iter().filter(|guest| mirror::touches(rule.how, guest));
    let in_use = if rule.keeps_used {
        touched.clone().filter(|guest| guest.profile.used).count() as u64
    } else {
        0
    };
    confirm::Missing {
        to_touch: touched.count() as u64,
        in_use,
        allowed: rule.budget.allowed(org_guests),
    }
}

/// The run loop's company: where finished rows go and what can stop it.
struct Drive<'a> {
    results: &'a mut ResultsWriter,
    options: &'a Options,
    stop: &'a Stop,
    client: Option<&'a Client>,
    events: &'a Events,
    /// The waits last sent as `Waiting` (the rate limit's, the invite quota's).
    waiting: [Option<SystemTime>; 2],
}

impl Drive<'_> {
    /// Takes each finished row as it comes: counted, shown, written; returns the counts and
    /// whether the results could no longer be written. Consumes `rows`, so whatever it borrows
    /// (the dedupe table) is free again afterwards.
    async fn drive<S>(&mut self, rows: S) -> Result<(Summary, bool), RunError>
    where
        S: futures::Stream<Item = (RowResult, u32)>,
    {
        let mut rows = std::pin::pin!(rows);
        let (options, stop) = (self.options, self.stop);
        self.events.send(Event::Sending);
        let mut summary = Summary::default();
        let mut failed = 0u64;
        // Set once the results cannot be written (a full disk): the run stops, and goes on
        // counting what becomes of each row so that the summary stays true.
        let mut write_failed = false;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut sent = 0u64;
        loop {
            tokio::select! {
                next = rows.next() => match next {
                    Some((result, reconciliations)) => {
                        summary.finished(result.row, result.outcome.status, &result.outcome.message);
                        if result.outcome.status == Status::Failed {
                            failed += 1;
                            if options.max_failed.is_some_and(|max| failed > max) {
                                stop.stop(format!("{failed} rows failed, more than --max-errors allows"));
                            }
                        }
                        summary.reconciliations += u64::from(reconciliations);
                        let event = Event::Row {
                            row: result.row,
                            status: result.outcome.status,
                            message: result.outcome.message.clone(),
                            guest_id: result.outcome.guest_id.clone(),
                            fields: result.outcome.fields.iter().map(|field| field.name().to_string()).collect(),
                        };
                        if !write_failed {
                            let written = self.results.push(result);
                            write_failed = results_trouble(written, stop);
                        }
                        self.events.send(event);
                        self.events.stopping(stop);
                        // Rows that need no request come thousands a poll: let the watchers
                        // take their events now and then, or they pile up for the whole file.
                        sent += 1;
                        if sent.is_multiple_of(YIELD_ROWS) {
                            tokio::task::yield_now().await;
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    if !write_failed {
                        write_failed = results_trouble(self.results.tick(), stop);
                    }
                    let pacer = self.client.map(Client::pacer);
                    let (paused, next_create) = (
                        pacer.and_then(|p| p.paused_until()),
                        pacer.and_then(|p| p.next_invite_at()),
                    );
                    self.waits(paused, next_create);
                    self.events.stopping(stop);
                }
            }
        }
        Ok((summary, write_failed))
    }
}

impl Drive<'_> {
    /// Sends `Waiting` when a wait begins, moves, or ends early (sent with `until` now).
    fn waits(&mut self, paused: Option<SystemTime>, next_create: Option<SystemTime>) {
        for ((last, now), why) in self
            .waiting
            .iter_mut()
            .zip([paused, next_create])
            .zip([Wait::RateLimit, Wait::InviteQuota])
        {
            let moved = match (*last, now) {
                (None, None) => false,
                // The same wait, read again a moment later, is not a new one.
                (Some(last), Some(now)) => {
                    now.duration_since(last).unwrap_or_else(|e| e.duration()) > Duration::from_millis(500)
                }
                (Some(last), None) => last > SystemTime::now(),
                (None, Some(_)) => true,
            };
            if moved {
                let until = now.unwrap_or_else(SystemTime::now);
                self.events.send(Event::Waiting { until, why });
            }
            *last = now;
        }
    }
}

/// A results write that failed stops the run (exit 3: no new request starts, the rest are
/// deferred) rather than ending it with rows in flight. A results stream closed by its reader
/// (`| head`) is such a failure too, not a quiet end: guests were created that no row records,
/// so the summary must count them and the exit code must say so.
fn results_trouble(written: Result<(), RunError>, stop: &Stop) -> bool {
    let Err(error) = written else {
        return false;
    };
    let reason = match error {
        RunError::OutputClosed => {
            "the results stream was closed by its reader (a `| head`?), so the rows after it have no results to go to; send the results to a file (--results FILE) and run the same command again".to_string()
        }
        error => error.to_string(),
    };
    tracing::error!("{reason}; stopping: no new request starts");
    stop.stop(reason);
    true
}
