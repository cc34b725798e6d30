//! What ships beside the binary: the systemd units pass `systemd-analyze verify` (pointed at
//! this build's binary, in a folder of the test's own) and treat exit 3 as a success; the
//! `.deb` (scripts/deb, cargo-deb's metadata in Cargo.toml) carries them, the manual page and the
//! completions.

use std::path::Path;

const UNITS: [&str; 3] = [
    "tallyfy-guests-sync.service",
    "tallyfy-guests-sync.timer",
    "tallyfy-guests-sync-failed@.service",
];

/// The units as shipped, with `/usr/bin/tallyfy-guests` made this build's binary, in `dir`.
fn units_in(dir: &Path) {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/systemd");
    for unit in UNITS {
        let text = std::fs::read_to_string(shipped.join(unit)).unwrap();
        let text = text.replace("/usr/bin/tallyfy-guests", env!("CARGO_BIN_EXE_tallyfy-guests"));
        std::fs::write(dir.join(unit), text).unwrap();
    }
}

#[test]
fn the_shipped_units_pass_systemd_analyze_verify_and_take_exit_3_for_a_success() {
    let dir = tempfile::tempdir().unwrap();
    units_in(dir.path());
    // The man page is not installed here (the .deb's own check verifies with it).
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(["tallyfy-guests-sync.service", "tallyfy-guests-sync.timer"])
        .arg("tallyfy-guests-sync-failed@tallyfy-guests-sync.service.service")
        .current_dir(dir.path())
        .output()
        .expect("systemd-analyze (Debian's systemd; scripts/test installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // verify exits 0 on a mistyped key or value, and says so: anything said is a failure.
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
    let service = std::fs::read_to_string(dir.path().join(UNITS[0])).unwrap();
    let settings: Vec<&str> = service.lines().map(str::trim).collect();
    for setting in [
        "Type=oneshot",
        "SuccessExitStatus=3",
        "LoadCredential=token:/etc/tallyfy-guests/token",
        "OnFailure=tallyfy-guests-sync-failed@%n.service",
    ] {
        assert!(settings.contains(&setting), "{setting} missing from the service");
    }
    assert!(
        service.contains("--token-file %d/token"),
        "the token comes from the credential"
    );
}

/// The `.deb`'s assets (`[package.metadata.deb]` in Cargo.toml) as (source, destination).
fn deb_assets() -> Vec<(String, String)> {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let section = manifest
        .split("[package.metadata.deb]")
        .nth(1)
        .expect("cargo-deb metadata");
    let assets = section.split("assets = [").nth(1).unwrap().split("\n]").next().unwrap();
    assets
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('"').collect();
            (fields.len() >= 4).then(|| (fields[1].to_string(), fields[3].to_string()))
        })
        .collect()
}

#[test]
fn the_deb_carries_every_unit_the_manual_and_the_completions_from_files_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let assets = deb_assets();
    // What scripts/deb builds or generates into target/ first; the rest is in the repository.
    for (source, _) in assets.iter().filter(|(source, _)| !source.starts_with("target/")) {
        assert!(root.join(source).is_file(), "{source} is packaged but missing");
    }
    for unit in std::fs::read_dir(root.join("packaging/systemd")).unwrap() {
        let name = unit.unwrap().file_name().to_string_lossy().into_owned();
        let packaged = format!("packaging/systemd/{name}");
        let installed = assets.iter().find(|(source, _)| *source == packaged);
        assert_eq!(
            installed.map(|(_, to)| to.as_str()),
            Some("usr/lib/systemd/system/"),
            "{name} is not packaged"
        );
    }
    let destinations: Vec<&str> = assets.iter().map(|(_, to)| to.as_str()).collect();
    for place in [
        "usr/bin/",
        "usr/share/man/man1/",
        "usr/share/bash-completion/completions/tallyfy-guests",
        "usr/share/zsh/vendor-completions/",
        "usr/share/fish/vendor_completions.d/",
    ] {
        assert!(destinations.contains(&place), "nothing installed in {place}");
    }
}
