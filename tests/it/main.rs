//! The integration tests: the real binary (or the library client) against an in-process
//! sandbox over real loopback HTTP. One test binary, so the 2-core CI links once. No test
//! asserts a speed or sleeps for a state: each waits for one, within the named bounds of
//! `util` (issue 31). What each file owns:

#![allow(
    clippy::disallowed_methods,
    reason = "tests read their own environment (PATH, UPDATE_SCREENSHOT)"
)]

mod architecture; // the source's own rule: no module circle (clippy holds the others)
mod bombs; // small files built to take all memory, refused within bounds
mod bounds; // every wait bounded (429 storms, endless lists, FIFOs, token sources) and yielding to signals
mod claims; // what a run claims is true: `created` is its own, overlapping runs, answers not believed blindly
mod client; // the library client against the sandbox: paths, read-backs, invite caps, burst limits
mod config; // configuration errors: exit 2 and one line saying what to fix
mod doctor; // `doctor`: a set-up checked before the first real run
mod engine; // the import as a library: start, watch events, stop
mod excel_results; // results a person opens in Excel
mod experience; // spreadsheets as people have them and what the tool says about them
mod export; // `export` end to end: paging under faults, order, the atomic output, formula safety
mod field; // workflows over days: own files read back, second runs, the cron recipe, invite pacing
mod fix_loop; // the fix loop: cells fixed in the results file and run again
mod habits; // terminal habits: wording, flag errors, colour, the bar, completions, the manual page
mod headers; // headers and sheets people have: phone columns, several sheets
mod hostile; // paths, streams and files from outside: special files, links, full disks, signals
mod hostile_servers; // server answers from outside: absurd numbers, endless bodies, echoed secrets
mod import; // `import` end to end: every row accounted for under scheduled faults, nothing twice
mod in_use; // mirror never takes work away: guests with tasks, the 403 on disable, new links
mod journal; // the acts journal: every delete on disk before it is sent, SIGKILL mid-mirror
mod locks; // locks by the real file and by organization, per user, not subvertible
mod members; // the organization's members in dry and real runs
mod mirror; // `--on-missing`: the nightly mirror behind its safety rules
mod networks; // corporate networks: a private CA behind a CONNECT proxy, a token about to expire
mod nightly; // the nightly loop: history, alerts on a change of state, pings, the metrics file
mod only_rows; // results files hold only rows: one record per input row, and what proves a file whole
mod overwrite; // `template` and `export` never destroy a person's file
mod pace; // the invite cap's plan: a confirmed run waits out its windows, a learned cap is remembered, one estimate
mod packaging; // what ships beside the binary: the systemd units and the .deb's contents
mod presence; // mirror keeps every guest the file mentions, in any cell and spelling
mod prompt; // the interactive question under a real pseudo-terminal
mod properties; // property tests of the reader: export CSV → import round trips
mod provenance; // a results file proves where it came from and that it is whole
mod rogue; // helper: a tiny misbehaving HTTP server (`util::against_rogue` points the binary at it)
mod secrecy; // the token never shows: rejected tokens, trace level, JSON logs
mod snapshots; // what people and scripts read, pinned: `--help`, the results header, the summary
mod spreadsheets; // encodings, delimiters, CRM export styles, workbooks
mod stops; // runs that stop and run again: killed, interrupted, invite-capped, token revoked
mod summaries; // a run that ends at set-up still leaves a true `--summary-json`
mod sync; // the nightly sync: `--on-existing update`, `--report-missing`, `--retry-from`
mod ui; // the `ui` command's page, over HTTP and in a headless Chromium
mod unattended; // runs with nobody watching: heartbeat, JSON logs, the man page
mod undo; // `undo`: an import taken back from its own results file
mod undo_rules; // undo takes back only what that run created, on one clock
mod util; // helper: the sandbox, the binary pointed at it, `Workspace`, named bounds, result rows
