//! The tokio runtime a bench tool runs on, started the same way by each (a tool that cannot
//! start one says so on stderr and exits with status 1), and how a tool's run ends: with status 1
//! and its error on stderr, or (the load tools) with its JSON line on stdout.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};

/// The threads of a runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// One thread: tokio's current-thread runtime.
    Current,
    /// tokio's multi-thread runtime with this many worker threads (> 0), or one per CPU.
    Multi(Option<usize>),
}

impl Threads {
    /// A `--threads N` option: 0 is the current-thread runtime, more is N worker threads.
    pub fn from_count(n: usize) -> Self {
        match n {
            0 => Threads::Current,
            n => Threads::Multi(Some(n)),
        }
    }
}

/// Starts the runtime of `tool` (all drivers enabled); when that fails, writes
/// `<tool>: cannot start runtime: <error>` to stderr and exits with status 1.
pub fn start(tool: &str, threads: Threads) -> Runtime {
    let built = match threads {
        Threads::Current => Builder::new_current_thread().enable_all().build(),
        Threads::Multi(workers) => {
            let mut b = Builder::new_multi_thread();
            b.enable_all();
            if let Some(n) = workers {
                b.worker_threads(n);
            }
            b.build()
        }
    };
    match built {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{tool}: cannot start runtime: {e}");
            std::process::exit(1);
        }
    }
}

/// Runs `main` on `rt` to the end; when it fails, writes `<tool>: <error>` to stderr and exits
/// with status 1.
pub fn run_or_exit<E: Display>(rt: Runtime, tool: &str, main: impl Future<Output = Result<(), E>>) {
    if let Err(e) = rt.block_on(main) {
        eprintln!("{tool}: {e}");
        std::process::exit(1);
    }
}

/// Runs `report` on `rt` to the end and exits: with status 0 after writing the line it returns
/// to stdout, or with status 1 after writing `<tool>: error: <error>` to stderr. Tasks still
/// running are given `shutdown` to finish first.
pub fn report_and_exit<E: Display>(
    rt: Runtime,
    tool: &str,
    shutdown: Duration,
    report: impl Future<Output = Result<String, E>>,
) -> ! {
    let code = rt.block_on(async {
        match report.await {
            Ok(line) => {
                println!("{line}");
                0
            }
            Err(e) => {
                eprintln!("{tool}: error: {e}");
                1
            }
        }
    });
    rt.shutdown_timeout(shutdown);
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_from_a_count() {
        assert_eq!(Threads::from_count(0), Threads::Current);
        assert_eq!(Threads::from_count(3), Threads::Multi(Some(3)));
    }

    #[test]
    fn runs_to_the_end() {
        let rt = start("test", Threads::Current);
        run_or_exit(rt, "test", async { Ok::<(), String>(()) });
    }

    #[test]
    fn starts_both_kinds() {
        assert_eq!(start("test", Threads::Current).block_on(async { 1 }), 1);
        let rt = start("test", Threads::Multi(Some(2)));
        assert_eq!(rt.metrics().num_workers(), 2);
        assert_eq!(
            rt.block_on(async { tokio::spawn(async { 2 }).await.ok() }),
            Some(2)
        );
    }
}
