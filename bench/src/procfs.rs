//! Figures of a process from Linux's /proc: its CPU time (utime + stime of /proc/PID/stat, in
//! clock ticks) and resident memory (VmRSS of /proc/PID/status, KiB), and a process watched over
//! a measurement window. A process that is gone or unreadable gives `None`.

use std::fmt::Display;
use std::path::Path;

/// utime + stime of process `pid` in clock ticks (see [`clock_ticks_per_s`]).
pub fn cpu_ticks(pid: impl Display) -> Option<u64> {
    stat_cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// VmRSS of process `pid` in KiB.
pub fn rss_kb(pid: impl Display) -> Option<u64> {
    status_rss_kb(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// utime + stime from the text of /proc/PID/stat: fields 14 and 15. The command name in field 2
/// may contain spaces and parentheses, so the fields are counted after the last `)`.
pub fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime = field 14 -> index 11, stime = field 15 -> index 12
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// VmRSS in KiB from the text of /proc/PID/status.
pub fn status_rss_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Clock ticks per second of /proc/PID/stat (`getconf CLK_TCK`; 100 when that fails).
pub fn clock_ticks_per_s() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(100.0)
}

/// A PID given as `--peer-pid`, else the content of `--peer-pid-file` (trimmed), if any.
pub fn pid_arg(pid: Option<u32>, file: Option<&Path>) -> Option<String> {
    pid.map(|p| p.to_string()).or_else(|| {
        let f = file?;
        Some(std::fs::read_to_string(f).ok()?.trim().to_string())
    })
}

/// A process watched over a measurement window: its CPU ticks and VmRSS when the window starts
/// ([`Watched::start`]) and ends ([`Watched::end`]), and the highest VmRSS of the samples taken
/// in between ([`Watched::sample`]). Without a PID nothing is read.
#[derive(Debug, Default)]
pub struct Watched {
    /// The PID, as given.
    pub pid: Option<String>,
    /// CPU ticks when the window started.
    pub cpu_start: Option<u64>,
    /// CPU ticks when the window ended.
    pub cpu_end: Option<u64>,
    /// VmRSS when the window started, KiB.
    pub rss_start: Option<u64>,
    /// The highest VmRSS of the samples, KiB (0: none read).
    pub rss_sampled_peak: u64,
    /// VmRSS when the window ended, KiB.
    pub rss_end: Option<u64>,
}

impl Watched {
    /// Starts watching `pid`: reads its CPU ticks and VmRSS now.
    pub fn start(pid: Option<String>) -> Self {
        let cpu_start = pid.as_deref().and_then(cpu_ticks);
        let rss_start = pid.as_deref().and_then(rss_kb);
        Watched {
            pid,
            cpu_start,
            rss_start,
            ..Default::default()
        }
    }

    /// Samples VmRSS for the peak.
    pub fn sample(&mut self) {
        if let Some(r) = self.pid.as_deref().and_then(rss_kb) {
            self.rss_sampled_peak = self.rss_sampled_peak.max(r);
        }
    }

    /// Ends the window: reads the CPU ticks and VmRSS now.
    pub fn end(&mut self) {
        self.cpu_end = self.pid.as_deref().and_then(cpu_ticks);
        self.rss_end = self.pid.as_deref().and_then(rss_kb);
    }

    /// The highest VmRSS of the start reading and the samples, KiB (0: none read).
    pub fn rss_peak(&self) -> u64 {
        self.rss_start.unwrap_or(0).max(self.rss_sampled_peak)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
        let stat = "1234 (a b) c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0";
        assert_eq!(stat_cpu_ticks(stat), Some(300));
        assert_eq!(stat_cpu_ticks("1234 (x) S 1"), None);
        assert_eq!(stat_cpu_ticks("no parenthesis"), None);
        assert_eq!(stat_cpu_ticks("1 (x)"), None);
    }

    #[test]
    fn parses_status() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t    4321 kB\nThreads:\t3\n";
        assert_eq!(status_rss_kb(status), Some(4321));
        assert_eq!(status_rss_kb("Name:\tx\n"), None);
    }

    #[test]
    fn watches_this_process() {
        let me = std::process::id();
        assert!(cpu_ticks(me).is_some());
        assert!(rss_kb(me).is_some_and(|r| r > 0));
        let mut w = Watched::start(Some(me.to_string()));
        w.sample();
        w.end();
        assert!(w.cpu_start.is_some() && w.cpu_end >= w.cpu_start);
        assert!(w.rss_sampled_peak > 0 && w.rss_peak() >= w.rss_sampled_peak);
        let none = Watched::start(None);
        assert_eq!(
            (none.cpu_start, none.rss_start, none.rss_peak()),
            (None, None, 0)
        );
    }

    #[test]
    fn pid_from_arg_or_file() {
        assert_eq!(pid_arg(Some(7), None), Some("7".into()));
        let f = std::env::temp_dir().join(format!("fxgate-bench-pid-{}", std::process::id()));
        std::fs::write(&f, "42\n").unwrap();
        assert_eq!(pid_arg(None, Some(&f)), Some("42".into()));
        assert_eq!(pid_arg(Some(7), Some(&f)), Some("7".into()));
        std::fs::remove_file(&f).unwrap();
        assert_eq!(pid_arg(None, Some(&f)), None);
        assert_eq!(pid_arg(None, None), None);
    }
}
