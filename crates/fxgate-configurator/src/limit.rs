//! The login rate limit: after [`PER_NAME`] failed logins for one user name within
//! [`WINDOW`], or [`OVERALL`] for all names together, further attempts are refused until the
//! window has passed (the password is not even checked). Failed logins are counted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Failures per user name within the window.
pub const PER_NAME: usize = 5;
/// Failures overall within the window.
pub const OVERALL: usize = 50;

/// Recent failed logins.
#[derive(Default)]
pub struct LoginLimit {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimit {
    /// `None` when `name` may try now, else how long to wait.
    pub fn check(&self, name: &str) -> Option<Duration> {
        self.check_at(name, Instant::now())
    }

    /// A failed login of `name`.
    pub fn failed(&self, name: &str) {
        self.failed_at(name, Instant::now());
    }

    /// A successful login: `name`'s failures are forgotten.
    pub fn succeeded(&self, name: &str) {
        self.failures.lock().remove(name);
    }

    fn check_at(&self, name: &str, now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock();
        map.retain(|_, v| {
            v.retain(|t| now.duration_since(*t) < WINDOW);
            !v.is_empty()
        });
        let wait = |times: &[Instant]| times.iter().min().map(|t| WINDOW.saturating_sub(now.duration_since(*t)));
        if let Some(v) = map.get(name).filter(|v| v.len() >= PER_NAME) {
            return wait(v);
        }
        let all: Vec<Instant> = map.values().flatten().copied().collect();
        if all.len() >= OVERALL {
            return wait(&all);
        }
        None
    }

    fn failed_at(&self, name: &str, now: Instant) {
        self.failures.lock().entry(name.to_string()).or_default().push(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_a_name_for_the_window() {
        let l = LoginLimit::default();
        let t0 = Instant::now();
        for i in 0..PER_NAME {
            assert_eq!(l.check_at("op", t0), None, "attempt {i}");
            l.failed_at("op", t0);
        }
        let wait = l.check_at("op", t0 + Duration::from_secs(10)).expect("locked");
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(l.check_at("other", t0), None, "another name may still try");
        assert_eq!(l.check_at("op", t0 + WINDOW), None, "free again after the window");
    }

    #[test]
    fn many_names_together_hit_the_overall_bound() {
        let l = LoginLimit::default();
        let t0 = Instant::now();
        for i in 0..OVERALL {
            l.failed_at(&format!("u{i}"), t0);
        }
        assert!(l.check_at("fresh", t0).is_some());
        l.succeeded("u0");
        assert_eq!(l.check_at("fresh", t0), None);
    }
}
