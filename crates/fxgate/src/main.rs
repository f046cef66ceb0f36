//! `fxgate`: the gateway binary.

#![warn(missing_docs)]

mod cli;
mod commands;
mod http;
mod https;
mod logging;
mod pki_list;
mod topology;
mod ui;
mod users_cmd;
#[cfg(test)]
mod tests;

use fxgate::registry;

use clap::Parser;

fn main() -> std::process::ExitCode {
    fixed_malloc_thresholds();
    let cli = cli::Cli::parse();
    commands::dispatch(cli)
}

/// glibc raises its mmap threshold to the size of the largest block freed so far, after which
/// blocks that size come from the arena of the thread that asked and stay there. An argon2id
/// password check allocates ~19 MiB, on whichever blocking thread runs it: measured, every
/// login (right or wrong) kept ~19 MiB more until a dozen threads held one each (40 → 199 MiB
/// after 20 logins). Fixed thresholds give such blocks back to the system when they are freed
/// (40 → 43 MiB), whatever thread allocated them.
fn fixed_malloc_thresholds() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called first thing in main, before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}
