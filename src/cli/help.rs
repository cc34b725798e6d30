//! The long texts of `--help`: examples, what the results hold, and the exit codes. Kept apart
//! from the flags so each stays short; `cli` attaches them. Lines stay within 78 columns, so
//! help wrapped to an 80-column terminal shows them as written.
#![allow(missing_docs, reason = "each text is named for the help page it belongs to")]

/// Shown under every `--help`: the contract scripts and monitoring rely on, the one text of it.
pub const EXIT_CODES: &str = "\
Exit codes (the same for every command):
  0  everything done (import: every row created, updated, enabled, exists,
     duplicate or would_*; undo: deleted, disabled, already_gone,
     not_created_here, changed_since, used_since or would_*; doctor: every
     check passed, warnings aside)
  1  finished, but something needs a person: import rows invalid, conflict
     or failed, undo rows unproven or failed (see the results file; also when
     the run stopped early), or an export that failed part way (nothing is
     left at --output)
  2  usage or set-up error: a bad flag, file, output path or URL, missing or
     rejected credentials, a host that cannot be reached, a failed doctor
     check, a lock folder or lock file that is not yours alone; nothing was
     created
  3  stopped early, no row needing a person: rate-limited beyond --max-wait,
     a token rejected mid-run, more failures than --max-errors, a signal, a
     full disk or a results stream closed by its reader (import: unfinished
     rows are `deferred`; run the same command again), another run holds the
     same results file or organization, a run was not confirmed, or
     --on-missing held back by --max-missing (nothing was touched)";

/// The top-level `--help`, before the exit codes.
pub const OVERVIEW: &str = "\
Examples:
  tallyfy-guests template guests.xlsx          a sheet to fill in
  tallyfy-guests import guests.xlsx --sandbox  try it with no account
  tallyfy-guests doctor                        check the set-up
  tallyfy-guests import guests.csv --dry-run   what an import would do
  tallyfy-guests import guests.csv             create the guests
  tallyfy-guests undo guests.results.csv       take them back
  tallyfy-guests export --output guests.csv    every guest, as CSV

Credentials: the token is read from TALLYFY_ACCESS_TOKEN (or
TALLYFY_API_TOKEN), --token-file or --token-command, never from a flag; or
client credentials (TALLYFY_CLIENT_ID and TALLYFY_CLIENT_SECRET).";

pub const EXPORT_HELP: &str = "\
Examples:
  tallyfy-guests export --output guests.csv    every guest, atomically
  tallyfy-guests export --with-stats --excel -o guests.csv
                                               task counts, for Excel
  tallyfy-guests export --sandbox              try it with no account

The output is valid `import` input, so guests can be copied between
organizations.";

pub const SANDBOX_HELP: &str = "\
Examples:
  eval \"$(tallyfy-guests sandbox --env)\"       serve in the background, then
  tallyfy-guests doctor                        point the tool at it
  kill $TALLYFY_SANDBOX_PID                    stop it
  tallyfy-guests sandbox --latency 20ms --burst-limit 50/s --error-rate 0.05
  tallyfy-guests sandbox --guests existing.csv --invite-cap 30/h --for 2h

It prints export lines for TALLYFY_BASE_URL, TALLYFY_ORG_ID,
TALLYFY_ACCESS_TOKEN and TALLYFY_SANDBOX_PID on stdout. On a terminal it
serves until Ctrl-C; with --env, or when stdout is not a terminal, it serves
in the background (until killed, or --for) and returns once it is ready.
Its OAuth token endpoint (/oauth/token) accepts the client id and secret it
logs on stderr. Faults are seeded (--seed), so a run can be repeated.";

pub const DOCTOR_HELP: &str = "\
Examples:
  tallyfy-guests doctor                        check the environment's set-up
  tallyfy-guests --log-format json doctor      the same, as one JSON object
  tallyfy-guests doctor --sandbox              try it with no account

It only reads: GET me, GET me/organizations and one page of guests. One line
a check, in order, stopping at the first that fails.";

pub const TEMPLATE_HELP: &str = "\
Examples:
  tallyfy-guests template guests.xlsx          a workbook to fill in
  tallyfy-guests template guests.csv           the same as CSV
  tallyfy-guests import guests.csv --dry-run   then check it

The sheet has every field, a line saying what to do, and two example rows to
replace; it imports as it stands.";

pub const COMPLETIONS_HELP: &str = "\
Examples:
  tallyfy-guests completions bash > /etc/bash_completion.d/tallyfy-guests
  tallyfy-guests completions zsh > \"${fpath[1]}/_tallyfy-guests\"
  tallyfy-guests completions fish \\
      > ~/.config/fish/completions/tallyfy-guests.fish";

pub const HISTORY_HELP: &str = "\
Examples:
  tallyfy-guests history                       every job's runs, newest first
  tallyfy-guests history --job crm --limit 7   one job's last week of nightly runs
  tallyfy-guests history --json | jq .exit_code
  tallyfy-guests history --prune --older-than 90d --keep 500

Every run of import, undo and export (from the command line or the page)
adds one record to history.jsonl in the state folder (--state-dir). A job is
its --job name, or its organization and results file. A pruned run is gone
from the history only; its results files are not touched.";

pub const UI_HELP: &str = "\
Examples:
  tallyfy-guests ui --sandbox                  try the page with no account
  tallyfy-guests ui                            the organization configured
  tallyfy-guests ui --no-open --port 8920      open the printed URL yourself
  tallyfy-guests ui --keep 30d                 remove runs unused for 30 days

The first line on stdout is the page's URL with its key, good for one browser:
opened again from another, it is refused and a new one is printed on a line of
its own. The page serves on 127.0.0.1 only; each run is kept in a folder under
--dir (its owner's only) with the uploaded copy, the corrected copy, the
results and the summary, until you delete it on the page or --keep removes it.
Ctrl-C stops the runs as it stops an import.";

/// Shown under `undo --help`.
pub const UNDO_HELP: &str = "\
Examples:
  tallyfy-guests undo guests.results.csv --dry-run
                                               what would be removed
  tallyfy-guests undo guests.results.csv       delete the guests it created
  tallyfy-guests undo guests.results.csv --disable
                                               disable them instead

Results of another organization (result_org), or of an older version that
records none, are refused. Only rows whose result_status is `created` are
touched; every other row is `not_created_here`. Each guest is read back first
and left alone unless its id is the row's result_guest_id and its email the
row's (`changed_since`), and its created_at is the one the create's answer
recorded (result_created_at; else `unproven`, which needs a person). A guest
someone used since (signed in, or with tasks assigned) is kept (`used_since`)
unless --include-used. Results (beside the file as <name>.undo.csv): one row
per row, result_status one of deleted, disabled, already_gone,
not_created_here, changed_since, used_since, unproven, failed, deferred, or
would_delete / would_disable in a dry run. Run the same command again after a stop.";

/// Shown under `import --help`.
pub const IMPORT_HELP: &str = "\
Examples:
  tallyfy-guests import guests.csv --dry-run   check a file; nothing is sent
  tallyfy-guests import contacts.xlsx --sheet Guests --map \"Work E-mail=email\"
  tallyfy-guests import guests.csv --invite-rate 30/h
                                               creates under the invite cap
  tallyfy-guests import samples/guests.csv --sandbox
                                               try it with no account

Nightly sync from a CRM export (client credentials in the environment):
  tallyfy-guests import crm.csv --on-existing update \\
      --report-missing missing.csv --max-errors 2% \\
      --summary-json summary.json --invite-rate 30/h --max-wait 50m
  tallyfy-guests import --retry-from crm.results.csv
                                               re-run failed and deferred rows

Results (beside the input as <name>.results.csv, or <name>.dry-run.csv for a
dry run, unless --results): one row per input row: result_row, result_status,
result_message, result_guest_id, result_http_status, result_attempts, where
and when it was made (result_org, result_api, result_run_started, result_at,
result_created_at), result_link, result_of (the proof the file is whole),
then the input's own columns. result_status is one of created, updated,
enabled, exists, duplicate, invalid, conflict, failed, deferred, or
would_create / would_update / would_enable in a dry run.

Mirror a CRM: --on-missing disable (or delete) --report-missing missing.csv
disables the guests no row names, only once the whole file was read with no
stop, and never more than --max-missing (default 5% of the organization's
guests): beyond it nothing is touched and the run exits 3. A disabled guest
who is back in the file is enabled again (`enabled`).";
