//! The long texts of `--help`: examples, what the results hold, and the exit codes. Kept apart
//! from the flags so each stays short; `cli` attaches them.
#![allow(missing_docs, reason = "each text is named for the help page it belongs to")]

/// Shown under every `--help`: the contract scripts and monitoring rely on.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the run finished but something failed (see the error or the results file)
  2  usage or set-up error: a bad flag, file, output path or URL, missing credentials,
     credentials the API rejects, or a host that cannot be reached; nothing was created
  3  stopped early: rate-limited for longer than --max-wait, or interrupted, or another run
     holds the same results file; run it again later

Credentials: the token is read from TALLYFY_ACCESS_TOKEN or --token-file, never from a flag.";

pub const EXPORT_HELP: &str = "\
Examples:
  tallyfy-guests export --output guests.csv         every guest, written atomically
  tallyfy-guests export --with-stats --excel -o guests.csv   with task counts, for Excel
  tallyfy-guests export --sandbox                   try it with no account

The output is valid `import` input, so guests can be copied between organizations.

Exit codes:
  0  every guest was written
  1  the export failed part way (nothing is left at --output)
  2  usage error, or credentials the API rejects
  3  stopped: rate-limited for longer than --max-wait, or interrupted";

pub const SANDBOX_HELP: &str = "\
Examples:
  tallyfy-guests sandbox > sandbox.env &  then  set -a; . ./sandbox.env; set +a
  tallyfy-guests sandbox --latency 20ms --burst-limit 50/s --error-rate 0.05
  tallyfy-guests sandbox --guests existing.csv --invite-cap 30/h --token-uses 100

It prints TALLYFY_BASE_URL, TALLYFY_ORG_ID and TALLYFY_ACCESS_TOKEN lines on stdout. Its OAuth
token endpoint (/oauth/token) accepts the client id and secret it logs on stderr. Faults are
seeded (--seed), so a run can be repeated exactly.";

pub const DOCTOR_HELP: &str = "\
Examples:
  tallyfy-guests doctor                             check the settings in the environment
  tallyfy-guests --log-format json doctor           the same, as one JSON object
  tallyfy-guests doctor --sandbox                   try it with no account

It only reads: GET me, GET me/organizations and one page of guests. One line a check, in
order, stopping at the first that fails.

Exit codes:
  0  every check passed
  2  a check failed: the line says which and what to fix";

pub const TEMPLATE_HELP: &str = "\
Examples:
  tallyfy-guests template guests.xlsx               a workbook to fill in
  tallyfy-guests template guests.csv                the same as CSV
  tallyfy-guests import guests.csv --dry-run        then check it

The sheet has every field, a line saying what to do, and two example rows to replace; it
imports as it stands.";

pub const COMPLETIONS_HELP: &str = "\
Examples:
  tallyfy-guests completions bash > /etc/bash_completion.d/tallyfy-guests
  tallyfy-guests completions zsh > \"${fpath[1]}/_tallyfy-guests\"
  tallyfy-guests completions fish > ~/.config/fish/completions/tallyfy-guests.fish";

/// Shown under `import --help`.
pub const IMPORT_HELP: &str = "\
Examples:
  tallyfy-guests import guests.csv --dry-run        check a file; no write is sent
  tallyfy-guests import contacts.xlsx --sheet Guests --map \"Work E-mail=email\"
  tallyfy-guests import guests.csv --invite-rate 30/h   pace creates under the hourly invite cap
  tallyfy-guests import samples/guests.csv --sandbox  try it with no account

Nightly sync from a CRM export (client credentials in the environment):
  tallyfy-guests import crm.csv --on-existing update --report-missing missing.csv \\
      --max-errors 2% --summary-json summary.json --invite-rate 30/h --max-wait 50m
  tallyfy-guests import --retry-from crm.results.csv   re-run only failed and deferred rows

Results (beside the input as <name>.results.csv, or <name>.dry-run.csv for a dry run, unless
--results): one row per input row,
  result_row, result_status, result_message, result_guest_id, result_http_status,
  result_attempts, then the input's own columns. result_status is one of created, updated,
  exists, duplicate, invalid, conflict, failed, deferred, or would_create / would_update in a
  dry run.

Exit codes:
  0  every row is created, updated, exists, duplicate, would_create or would_update
  1  the run finished and some rows are invalid, conflict or failed
  2  usage or set-up error, credentials the API rejects, or a host that cannot be reached;
     nothing was created
  3  stopped early (token rejected mid-run, rate-limited beyond --max-wait, more failures
     than --max-errors, a signal, a full disk): unfinished rows are `deferred`; run the same
     command again (or --retry-from the results) to continue. Also when another run holds
     the same results file (nothing is sent or written)";
