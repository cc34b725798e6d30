//! What the page's server sets for its own process at start: files it creates are its owner's
//! only (umask 077: the run folders 0700, every file in them 0600, the engine's outputs
//! included), and its descriptor limit raised to what the system allows (the soft limit to
//! the hard one), so that the page, its jobs and their connections have room.

/// Both, once, before the server creates anything.
pub(super) fn prepare() {
    private_files();
    if let Some((from, to)) = raise_descriptor_limit() {
        tracing::debug!("open files allowed: raised from {from} to {to}");
    }
}

/// Files and folders this process creates are for its owner only.
#[cfg(unix)]
fn private_files() {
    // SAFETY: umask cannot fail and touches no memory; it is process-wide, and the server
    // sets it before it creates any file.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(not(unix))]
fn private_files() {}

/// Raises the soft limit on open files to the hard one; the two values when it moved.
#[cfg(unix)]
pub(super) fn raise_descriptor_limit() -> Option<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the one struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    // macOS refuses more than OPEN_MAX for a process, whatever the hard limit says.
    #[cfg(target_os = "macos")]
    let target = limit.rlim_max.min(libc::OPEN_MAX as libc::rlim_t);
    #[cfg(not(target_os = "macos"))]
    let target = limit.rlim_max;
    if limit.rlim_cur >= target {
        return None;
    }
    let raised = libc::rlimit {
        rlim_cur: target,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: setrlimit reads the one struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion, reason = "rlim_t is u64 on Linux, not everywhere")]
    let moved = (u64::from(limit.rlim_cur), u64::from(target));
    Some(moved)
}

#[cfg(not(unix))]
pub(super) fn raise_descriptor_limit() -> Option<(u64, u64)> {
    None
}
