//! The most recent log lines, kept in memory for the configurator's Logs page: a bounded
//! ring of formatted lines (the oldest go first), each with its level, read newest last.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

/// Lines kept.
pub const LOG_RING_LINES: usize = 2000;
/// Longest line kept (a longer one is cut, with `…`).
pub const LOG_LINE_MAX: usize = 4000;

/// A log level, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// ERROR.
    Error,
    /// WARN.
    Warn,
    /// INFO.
    Info,
    /// DEBUG.
    Debug,
    /// TRACE.
    Trace,
}

impl LogLevel {
    /// `error`, `warn`, `info`, `debug`, `trace` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "ERROR" => Self::Error,
            "WARN" | "WARNING" => Self::Warn,
            "INFO" => Self::Info,
            "DEBUG" => Self::Debug,
            "TRACE" => Self::Trace,
            _ => return None,
        })
    }
}

/// The shared ring of recent lines.
#[derive(Clone, Default)]
pub struct LogRing {
    lines: Arc<Mutex<VecDeque<(LogLevel, String)>>>,
}

impl LogRing {
    /// Adds a formatted line (`2026-12-06T02:40:00.1Z  WARN target: message`); its level is
    /// the first word that names one (INFO when none does).
    pub fn push(&self, line: &str) {
        let line = line.trim_end();
        if line.is_empty() {
            return;
        }
        let level = line.split_whitespace().take(3).find_map(LogLevel::parse).unwrap_or(LogLevel::Info);
        let text = if line.len() > LOG_LINE_MAX {
            let mut cut = LOG_LINE_MAX;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}…", &line[..cut])
        } else {
            line.to_string()
        };
        let mut lines = self.lines.lock();
        if lines.len() >= LOG_RING_LINES {
            lines.pop_front();
        }
        lines.push_back((level, text));
    }

    /// The last `limit` lines at `min` or more severe, oldest first.
    pub fn recent(&self, min: LogLevel, limit: usize) -> Vec<(LogLevel, String)> {
        let lines = self.lines.lock();
        let mut out: Vec<_> = lines.iter().rev().filter(|(l, _)| *l <= min).take(limit).cloned().collect();
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_level_and_the_oldest_go_first() {
        let r = LogRing::default();
        r.push("2026-12-06T02:40:00.1Z  INFO fxgate: ready\n");
        r.push("2026-12-06T02:40:01.1Z  WARN fxgate: careful");
        r.push("2026-12-06T02:40:02.1Z ERROR fxgate: broken");
        r.push("   ");
        assert_eq!(r.recent(LogLevel::Trace, 10).len(), 3);
        let warn: Vec<_> = r.recent(LogLevel::Warn, 10).into_iter().map(|(l, _)| l).collect();
        assert_eq!(warn, vec![LogLevel::Warn, LogLevel::Error]);
        assert_eq!(r.recent(LogLevel::Info, 1)[0].1, "2026-12-06T02:40:02.1Z ERROR fxgate: broken");
        for i in 0..LOG_RING_LINES {
            r.push(&format!("x  INFO n{i}"));
        }
        let all = r.recent(LogLevel::Trace, usize::MAX);
        assert_eq!(all.len(), LOG_RING_LINES);
        assert_eq!(all[0].1, "x  INFO n0");
        r.push(&format!("x  INFO {}", "é".repeat(LOG_LINE_MAX)));
        assert!(r.recent(LogLevel::Info, 1)[0].1.ends_with('…'));
    }
}
