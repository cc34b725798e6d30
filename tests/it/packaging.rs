//! What ships beside the binary: the systemd units pass `systemd-analyze verify` (pointed at
//! this build's binary, in a folder of the test's own) and treat exit 3 as a success.

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
