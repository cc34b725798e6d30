//! Terminal habits (issue 26): messages in the tool's own words, flag errors, and how the tool
//! talks on a terminal and in a log.

use crate::util::{Workspace, bin, expect_exit};

#[test]
fn validation_messages_are_the_tools_own_words_and_name_invisible_characters() {
    let ws = Workspace::empty();
    let file = ws.write(
        "guests.csv",
        "email,timezone\nann\u{200B}@example.com,Europe/Paris\nben@example..com,\ncleo@example.com,Paris\n",
    );
    expect_exit(ws.cmd().args(["import", "--dry-run"]).arg(&file), 1);
    let rows = ws.results("guests.dry-run.csv");
    let messages: Vec<&str> = rows.iter().map(|r| r.result_message.as_str()).collect();
    assert!(
        messages[0].contains("a zero-width space (U+200B) at character 4"),
        "{messages:?}"
    );
    assert!(messages[1].contains("two dots in a row"), "{messages:?}");
    assert!(messages[2].contains("did you mean Europe/Paris?"), "{messages:?}");
    for message in messages {
        for word in ["sub-domain", "Invalid character", "Sub-domain", ".)"] {
            assert!(!message.contains(word), "library words leak: {message}");
        }
    }
}

#[test]
fn limit_zero_is_a_flag_error() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nann@example.com\n");
    let stderr = expect_exit(ws.cmd().args(["import", "--limit", "0"]).arg(&file), 2);
    assert!(stderr.contains("1 or more"), "{stderr}");
    assert!(!stderr.contains("no guest rows"), "{stderr}");
    assert!(!ws.path("guests.results.csv").exists());
    expect_exit(bin().args(["import", "--limit", "1", "--dry-run"]).arg(&file), 0);
}

/// Runs `cmd` with a pseudo-terminal of 80 columns as its stdin, stdout and stderr, sending it
/// SIGINT once its output shows `interrupt_at`; returns everything it wrote and its exit code.
pub fn on_terminal(mut cmd: std::process::Command, interrupt_at: Option<&str>) -> (String, Option<i32>) {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::sync::{Arc, Mutex};
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors, which are owned from here on.
    let opened = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
    assert_eq!(opened, 0, "a pseudo-terminal");
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    cmd.env("TERM", "xterm-256color")
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // our copies of the terminal's slave side: the reader sees its end with the child's
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let seen = seen.clone();
        let mut master = std::fs::File::from(master);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = master.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let deadline = std::time::Instant::now() + crate::util::GENEROUS;
    let mut interrupted = interrupt_at.is_none();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the command did not finish");
        if !interrupted && String::from_utf8_lossy(&seen.lock().unwrap()).contains(interrupt_at.unwrap()) {
            // SAFETY: a signal to our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            interrupted = true;
        }
        std::thread::sleep(crate::util::POLL);
    };
    reader.join().unwrap();
    let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    (text, status.code())
}

/// The lines a terminal ends up showing (roughly): escape sequences dropped, and of a line
/// redrawn after a carriage return, its last drawing.
pub fn screen_lines(raw: &str) -> Vec<String> {
    strip_escapes(raw)
        .split('\n')
        .map(|line| {
            let line = line.trim_end_matches('\r');
            line.rsplit('\r').next().unwrap_or_default().to_string()
        })
        .collect()
}

/// Terminal output without its escape sequences.
pub fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}

fn guests_csv(rows: usize) -> String {
    let mut text = String::from("email,first_name\n");
    for i in 0..rows {
        text.push_str(&format!("guest{i}@example.com,Guest {i}\n"));
    }
    text
}

#[test]
fn on_a_terminal_lines_are_plain_and_the_bar_fits_80_columns_and_clears_after_ctrl_c() {
    let ws = Workspace::new(crate::util::slow(std::time::Duration::from_millis(40)));
    let file = ws.write("guests.csv", &guests_csv(300));
    let mut cmd = ws.process();
    cmd.args(["import", "--yes", "--concurrency", "2"]).arg(&file);
    let (raw, code) = on_terminal(cmd, Some(" created"));
    assert_eq!(code, Some(3), "{raw}");
    let text = strip_escapes(&raw);
    assert!(
        !text.contains("INFO") && !text.contains("import: "),
        "no level, no span: {text}"
    );
    let lines = screen_lines(&raw);
    assert!(
        lines.iter().any(|line| line.starts_with("0 existing guests fetched")),
        "an ordinary line is its message alone: {lines:#?}"
    );
    assert!(lines.iter().any(|line| line.starts_with("results: ")), "{lines:#?}");
    assert!(
        raw.contains("\x1b[1;33mwarning\x1b[0m: stopping: no new requests"),
        "a warning says so, in colour: {raw:?}"
    );
    let bars: Vec<&str> = text.split(['\r', '\n']).filter(|s| s.contains("/300 rows")).collect();
    assert!(
        bars.iter().any(|bar| bar.contains(" created")),
        "the bar was drawn with counts: {bars:#?}"
    );
    for bar in bars {
        assert!(bar.chars().count() <= 80, "a bar wider than 80 columns: {bar:?}");
    }
    let last_bar = raw.rfind("ETA").unwrap();
    let summary = raw.rfind(" rows: ").expect("a summary");
    assert!(last_bar < summary, "{raw:?}");
    assert!(
        raw[last_bar..summary].contains("\x1b[2K"),
        "the bar is erased before the summary: {:?}",
        &raw[last_bar..summary]
    );
}

#[test]
fn on_a_terminal_with_no_color_a_warning_is_a_word() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", "email\nann@example.com\n");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tallyfy-guests"));
    cmd.current_dir(ws.dir()).env("NO_COLOR", "1");
    for var in tallyfy_guests::config::ENV_VARS {
        cmd.env_remove(var);
    }
    cmd.args(["import", "--dry-run"]).arg(&file);
    let (raw, code) = on_terminal(cmd, None);
    assert_eq!(code, Some(0), "{raw}");
    assert!(
        !raw.contains("\x1b[1;") && !raw.contains("\x1b[0m"),
        "no colour with NO_COLOR: {raw:?}"
    );
    assert!(
        screen_lines(&raw)
            .iter()
            .any(|line| line.starts_with("warning: dry run offline")),
        "{raw}"
    );
    assert!(
        screen_lines(&raw)
            .iter()
            .any(|line| line.starts_with("1 row: 1 would_create")),
        "{raw}"
    );
}

#[test]
fn in_a_log_every_line_the_summary_too_starts_with_its_time() {
    let ws = Workspace::empty();
    let file = ws.write("guests.csv", &guests_csv(3));
    let stderr = expect_exit(ws.cmd().arg("import").arg(&file), 0);
    let stamped = |line: &str| {
        let b = line.as_bytes();
        b.len() > 24 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T'
    };
    for line in stderr.lines() {
        assert!(stamped(line), "{line:?} in {stderr}");
        assert!(!line.contains("import: "), "{line}");
    }
    assert!(stderr.lines().any(|l| l.contains("INFO 3 rows: 3 created")), "{stderr}");
    assert!(stderr.lines().any(|l| l.contains("INFO results: ")), "{stderr}");
}

#[test]
fn eval_of_sandbox_env_returns_and_points_the_tool_at_a_background_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let bin_path = assert_cmd::cargo::cargo_bin!("tallyfy-guests");
    let script = format!(
        "eval \"$('{bin}' sandbox --env --port 0 --for 60s)\" || exit 9\n\
         echo \"pid=$TALLYFY_SANDBOX_PID url=$TALLYFY_BASE_URL\"\n\
         '{bin}' doctor",
        bin = bin_path.display()
    );
    // Bounded: an `eval` that waited for the sandbox to end would hang here.
    let mut bash = std::process::Command::new("timeout");
    bash.args(["60", "bash", "-c"]).arg(&script).current_dir(dir.path());
    for var in tallyfy_guests::config::ENV_VARS {
        bash.env_remove(var);
    }
    let output = bash.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let pid: i32 = stdout
        .split("pid=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid: {stdout}\n{stderr}"));
    let url = stdout.split("url=").nth(1).unwrap().lines().next().unwrap().to_string();
    let port: u16 = url
        .trim_end_matches("/api")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let serving = || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    assert!(serving(), "still serving after the shell went on");
    // SAFETY: a signal to the sandbox this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(
        output.status.code(),
        Some(0),
        "doctor passed against it: {stdout}\n{stderr}"
    );
    assert!(stdout.contains("ok    guest list"), "{stdout}");
    crate::util::wait_for("kill $TALLYFY_SANDBOX_PID stopping it", || !serving());
}

#[test]
fn a_sandbox_that_cannot_start_in_the_background_says_why() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let stderr = expect_exit(bin().args(["sandbox", "--env", "--port", &port]), 2);
    assert!(stderr.contains(&format!("port {port} is in use")), "{stderr}");
}

/// What bash offers for the last of `words` (an empty last word completes from nothing), with
/// the generated completion script loaded and `dir` as the working folder.
fn bash_offers(dir: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let body = format!(
        "source ./completion.bash\n\
         fn=$(complete -p tallyfy-guests | sed 's/.*-F \\([^ ]*\\).*/\\1/')\n\
         COMP_WORDS=({})\n\
         COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
         COMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         \"$fn\" tallyfy-guests \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted.join(" ")
    );
    let output = std::process::Command::new("timeout")
        .args(["30", "bash", "-c", &body])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completion_offers_files_where_files_go_and_values_where_values_are_known() {
    let dir = tempfile::tempdir().unwrap();
    let script = bin().args(["completions", "bash"]).output().unwrap();
    assert!(script.status.success());
    std::fs::write(dir.path().join("completion.bash"), &script.stdout).unwrap();
    std::fs::write(dir.path().join("guests.csv"), "email\n").unwrap();
    let offers = |words: &[&str]| bash_offers(dir.path(), words);
    let import_file = offers(&["tallyfy-guests", "import", ""]);
    assert!(import_file.contains(&"guests.csv".to_string()), "{import_file:?}");
    assert!(
        !import_file.iter().any(|o| o.starts_with('-')),
        "no options, no `-`: {import_file:?}"
    );
    assert!(offers(&["tallyfy-guests", "undo", "gu"]).contains(&"guests.csv".to_string()));
    assert!(offers(&["tallyfy-guests", "import", "--enc"]).contains(&"--encoding".to_string()));
    for (flag, wanted) in [
        ("--encoding", &["utf-8", "windows-1252", "macintosh"][..]),
        ("--delimiter", &["comma", "semicolon", "pipe", "tab"][..]),
        ("--on-existing", &["skip", "update"][..]),
        ("--on-missing", &["report", "disable", "delete"][..]),
        ("--log-format", &["text", "json"][..]),
    ] {
        let got = offers(&["tallyfy-guests", "import", flag, ""]);
        for value in wanted {
            assert!(got.contains(&value.to_string()), "{flag}: {got:?}");
        }
        assert!(!got.contains(&"guests.csv".to_string()), "{flag} offers files: {got:?}");
    }
    for flag in ["--sheet", "--map", "--delimiter", "--encoding"] {
        let got = offers(&["tallyfy-guests", "import", flag, "gu"]);
        assert!(
            !got.iter().any(|o| o.contains("guests.csv")),
            "{flag} offers files: {got:?}"
        );
    }
}

#[test]
fn the_manual_is_one_page_with_every_section_and_lints_clean() {
    let output = bin().arg("man").output().unwrap();
    assert!(output.status.success());
    let page = String::from_utf8(output.stdout).unwrap();
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH COMMANDS",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH \"EXIT STATUS\"",
        ".SH EXAMPLES",
    ] {
        assert!(page.contains(section), "{section} missing");
    }
    assert_eq!(page.matches("EXIT STATUS").count(), 1, "the exit codes once");
    assert_eq!(
        page.matches("Exit codes (the same").count(),
        0,
        "not repeated per command"
    );
    assert_eq!(page.matches(".TH ").count(), 1, "one page");
    assert!(!page.contains("tallyfy-guests-import(1)") && !page.contains("tallyfy\\-guests\\-import(1)"));
    for name in tallyfy_guests::config::ENV_VARS
        .into_iter()
        .chain(["RUST_LOG", "NO_COLOR"])
    {
        assert!(page.contains(&format!(".B {name}\n")), "{name} in ENVIRONMENT");
    }
    for flag in [
        "\\-\\-on\\-missing",
        "\\-\\-with\\-stats",
        "\\-\\-latency",
        "\\-\\-disable",
        "\\-\\-env",
    ] {
        assert!(page.contains(flag), "{flag}: every command's options");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tallyfy-guests.1");
    std::fs::write(&path, &page).unwrap();
    let have = |tool: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let lint = if have("mandoc") {
        std::process::Command::new("mandoc")
            .args(["-T", "lint", "-W", "warning"])
            .arg(&path)
            .output()
            .unwrap()
    } else if have("groff") {
        std::process::Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(&path)
            .output()
            .unwrap()
    } else {
        // Never a silent skip (issue 31): scripts/test installs mandoc before it runs the tests.
        panic!("neither mandoc nor groff found: the manual page cannot be linted (scripts/test installs mandoc)")
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    assert!(
        lint.status.success() && said.trim().is_empty(),
        "the page lints clean:\n{said}"
    );
}

#[test]
fn the_template_workbooks_columns_are_text_so_phones_stay_as_typed() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let status = bin()
        .current_dir(dir.path())
        .args(["template", "guests.xlsx"])
        .output()
        .unwrap();
    assert!(status.status.success());
    let mut zip = zip::ZipArchive::new(std::fs::File::open(dir.path().join("guests.xlsx")).unwrap()).unwrap();
    let mut part = |name: &str| {
        let mut text = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut text).unwrap();
        text
    };
    let (sheet, styles) = (part("xl/worksheets/sheet1.xml"), part("xl/styles.xml"));
    let xfs = styles
        .split("<cellXfs")
        .nth(1)
        .unwrap()
        .split("</cellXfs>")
        .next()
        .unwrap();
    let xfs: Vec<&str> = xfs.split("<xf ").skip(1).collect();
    // Text is the built-in format 49, or a format of its own whose code is `@`.
    let text_formats: Vec<String> = std::iter::once("49".to_string())
        .chain(
            styles
                .split("<numFmt ")
                .skip(1)
                .filter(|f| f.contains("formatCode=\"@\""))
                .filter_map(|f| {
                    f.split("numFmtId=\"")
                        .nth(1)
                        .and_then(|rest| rest.split('"').next())
                        .map(str::to_string)
                }),
        )
        .collect();
    let is_text = |style: usize| {
        xfs.get(style)
            .is_some_and(|xf| text_formats.iter().any(|id| xf.contains(&format!("numFmtId=\"{id}\""))))
    };
    let attr = |element: &str, name: &str| -> Option<usize> {
        let start = element.find(&format!(" {name}=\""))? + name.len() + 3;
        element[start..].split('"').next()?.parse().ok()
    };
    let columns: Vec<String> = sheet
        .split("<col ")
        .skip(1)
        .map(|c| format!(" {}", c.split("/>").next().unwrap()))
        .collect();
    for column in 1..=tallyfy_guests::commands::template::HEADER.len() {
        let style = columns
            .iter()
            .find(|c| attr(c, "min").unwrap() <= column && column <= attr(c, "max").unwrap())
            .and_then(|c| attr(c, "style"));
        assert!(
            style.is_some_and(is_text),
            "column {column} is formatted as text: {columns:?} {xfs:?}"
        );
    }
    // The example rows' cells are text too (a cell's own style overrides its column's).
    let example_phone = sheet.split("<c r=\"E3\"").nth(1).unwrap();
    assert!(
        attr(&format!(" {example_phone}"), "s").is_some_and(is_text),
        "{example_phone}"
    );
}

#[test]
fn a_mac_roman_file_is_flagged_with_the_encoding_to_use() {
    let ws = Workspace::empty();
    let (bytes, _, _) = encoding_rs::MACINTOSH.encode("email,first_name,last_name\njurgen@example.de,Jürgen,Müller\n");
    let path = ws.path("guests.csv");
    std::fs::write(&path, &bytes).unwrap();
    let stderr = expect_exit(ws.cmd().args(["import", "--dry-run"]).arg(&path), 0);
    assert!(
        stderr.contains("`JŸrgen`") && stderr.contains("--encoding macintosh"),
        "{stderr}"
    );
    let stderr = expect_exit(
        ws.cmd()
            .args(["import", "--dry-run", "--encoding", "macintosh"])
            .arg(&path),
        0,
    );
    assert!(!stderr.contains("looks like"), "{stderr}");
    let rows = ws.results("guests.dry-run.csv");
    assert_eq!(rows[0].cell("first_name"), "Jürgen");
}

/// The exit codes of a text: code → its meaning, lines joined, backticks dropped.
fn exit_table(lines: impl Iterator<Item = String>) -> std::collections::BTreeMap<String, String> {
    let mut table = std::collections::BTreeMap::new();
    let mut last = None;
    for line in lines {
        let line = line.replace('`', "");
        let trimmed = line.trim();
        if let Some((code, meaning)) = trimmed.split_once("  ").filter(|(code, _)| code.len() == 1) {
            table.insert(code.to_string(), meaning.trim().to_string());
            last = Some(code.to_string());
        } else if let Some(code) = &last {
            let meaning: &mut String = table.get_mut(code).unwrap();
            meaning.push(' ');
            meaning.push_str(trimmed);
        }
    }
    table
}

/// The exit codes and the import synopsis live in the reference the README links (`docs/`).
#[test]
fn the_reference_says_what_help_says_about_exit_codes_and_import_flags() {
    let automation = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/automation.md")).unwrap();
    let import = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/import.md")).unwrap();
    let help = String::from_utf8(bin().arg("--help").output().unwrap().stdout).unwrap();
    let from_help = exit_table(
        help.lines()
            .skip_while(|l| !l.starts_with("Exit codes"))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .map(str::to_string),
    );
    let from_docs = exit_table(
        automation
            .split("## Exit codes")
            .nth(1)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("| ").and_then(|l| l.strip_suffix(" |")))
            .filter(|l| l.as_bytes()[0].is_ascii_digit())
            .map(|l| l.replacen(" | ", "  ", 1)),
    );
    assert_eq!(from_help.len(), 4, "{from_help:?}");
    assert_eq!(from_docs, from_help);

    // Every flag of `import --help` is in docs/import.md's synopsis, but for the connection
    // flags (every command has them, listed once) and the global ones.
    let help = String::from_utf8(bin().args(["import", "--help"]).output().unwrap().stdout).unwrap();
    let synopsis = import
        .split("tallyfy-guests import FILE")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let mut heading = "";
    for line in help.lines().take_while(|l| !l.starts_with("Examples:")) {
        if !line.starts_with(' ') && line.ends_with(':') {
            heading = line;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if !line.trim_start().starts_with('-') {
            continue;
        }
        let Some(flag) = line.split([' ', ',']).find(|w| w.starts_with("--")) else {
            continue;
        };
        if indent > 6 || ["--help", "--log-format", "--quiet"].contains(&flag) {
            continue;
        }
        if heading == "Credentials and connection:" && flag != "--sandbox" {
            continue;
        }
        assert!(
            synopsis.contains(flag),
            "{flag} ({heading}) is missing from docs/import.md's synopsis"
        );
    }
}

#[test]
fn doctor_warns_on_a_line_of_its_own_about_a_token_file_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::empty();
    let token = ws.write("token", ws.sandbox.token());
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let doctor = |ws: &Workspace| {
        let output = ws
            .cmd()
            .env_remove("TALLYFY_ACCESS_TOKEN")
            .args(["doctor", "--token-file"])
            .arg(&token)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "a warning is not a failure");
        String::from_utf8(output.stdout).unwrap()
    };
    let stdout = doctor(&ws);
    assert!(
        stdout.lines().any(|l| l.starts_with("warn  secret file: ")
            && l.contains("can be read by other users (mode 644): chmod 600 it")),
        "{stdout}"
    );
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!doctor(&ws).contains("warn"), "no warning once it is private");
}

/// The README is read in minutes: at most this many words, code and tables included (`wc -w`).
const README_MOST_WORDS: usize = 3_000;

/// The repository's root, where README.md and docs/ are.
fn root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The anchors GitHub gives a Markdown file's headings: lowercase, spaces to `-`, every other
/// character but letters, digits, `-` and `_` dropped (so "`--summary-json`" is `--summary-json`).
fn anchors(markdown: &str) -> Vec<String> {
    outside_code(markdown)
        .filter(|line| line.starts_with('#'))
        .map(|line| {
            line.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// The lines of a Markdown text that are not inside a fenced code block.
fn outside_code(markdown: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    markdown.lines().filter(move |line| {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// Every relative link (`[text](target)`, images too) of `markdown`, a file at `file`, whose
/// target file or heading does not exist; links to other sites are not followed.
fn broken_links(file: &std::path::Path, markdown: &str) -> Vec<String> {
    let mut broken = Vec::new();
    for line in outside_code(markdown) {
        for (at, _) in line.match_indices("](") {
            let target = line[at + 2..].split(')').next().unwrap_or_default();
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            let linked = if path.is_empty() {
                file.to_path_buf()
            } else {
                file.parent().unwrap().join(path)
            };
            if !linked.exists() {
                broken.push(format!("{}: {target} (no such file)", file.display()));
            } else if !anchor.is_empty() {
                let text = std::fs::read_to_string(&linked).unwrap_or_default();
                if !anchors(&text).iter().any(|a| a == anchor) {
                    broken.push(format!("{}: {target} (no such heading)", file.display()));
                }
            }
        }
    }
    broken
}

/// Issue 31.3: the README is short, and every link of it and of the reference under docs/ leads
/// somewhere: the file exists and, for `#anchor`, so does the heading.
#[test]
fn the_readme_is_short_and_its_links_and_the_references_lead_somewhere() {
    let readme_path = root().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let words = readme.split_whitespace().count();
    assert!(
        words <= README_MOST_WORDS,
        "README.md has {words} words, more than {README_MOST_WORDS}: move reference text to docs/"
    );

    let mut pages: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    assert!(pages.len() >= 6, "the reference pages are gone: {pages:?}");
    let mut broken = broken_links(&readme_path, &readme);
    for page in &pages {
        let name = page.file_name().unwrap().to_str().unwrap();
        assert!(
            readme.contains(&format!("](docs/{name})")),
            "the README's Reference does not link docs/{name}"
        );
        broken.extend(broken_links(page, &std::fs::read_to_string(page).unwrap()));
    }
    assert!(broken.is_empty(), "links that lead nowhere:\n{}", broken.join("\n"));

    // The check itself sees a missing file, a missing heading and a missing heading elsewhere,
    // and passes over other sites and code blocks.
    let planted = "[a](docs/nope.md) [b](#nowhere) [c](docs/import.md#nowhere) \
                   [d](docs/import.md#the-fix-loop) [e](https://example.com/x.md)\n```\n[f](gone.md)\n```\n";
    assert_eq!(broken_links(&readme_path, planted).len(), 3, "{planted}");
}
