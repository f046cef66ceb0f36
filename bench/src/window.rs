//! The sinks' measurement window: it opens a warm-up after the first data message and lasts a
//! fixed time. Over it the sender (`--peer-pid`) and the sink itself are watched (CPU ticks,
//! VmRSS sampled every 100 ms), and at its end the JSON line is written with the keys every sink
//! has ([`Window::print`]) next to the sink's own.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::procfs::Watched;
use crate::summary::{cores, expected_values, mean_ms, ms3, pct, r2, us_to_ms};

/// Where a sink's run stands: what it receives is measured only in [`Phase::Window`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Phase {
    /// Before the window: waiting for data, then warming up.
    #[default]
    Warmup,
    /// In the measurement window.
    Window,
    /// After the window: nothing more is counted.
    Done,
}

/// What every sink counts in its window.
#[derive(Debug, Default)]
pub struct Counts {
    /// Data messages.
    pub messages: u64,
    /// Values in them.
    pub values: u64,
    /// Most values in one message.
    pub max_values_per_message: u64,
    /// Per-value latency (receipt − source time), µs.
    pub latency_us: Vec<i64>,
}

impl Counts {
    /// A data message of `values` values.
    pub fn message(&mut self, values: u64) {
        self.messages += 1;
        self.values += values;
        self.max_values_per_message = self.max_values_per_message.max(values);
    }
}

/// Waits for the first data message (`first_data` gives its time once there is one; asked every
/// 20 ms), then until `warmup_s` after it, and returns true. Returns false when none came within
/// `wait_s` of the call, after writing `<tool>: no data message within <wait_s> s` to stderr and
/// the failed-run line (`label`, `"failed": true`, `"error": "no data"`) to stdout.
pub async fn wait_for_data(
    tool: &str,
    label: &str,
    wait_s: f64,
    warmup_s: f64,
    mut first_data: impl FnMut() -> Option<Instant>,
) -> bool {
    let started = Instant::now();
    let first = loop {
        if let Some(t) = first_data() {
            break t;
        }
        if started.elapsed().as_secs_f64() > wait_s {
            eprintln!("{tool}: no data message within {wait_s} s");
            println!(
                "{}",
                json!({"label": label, "failed": true, "error": "no data"})
            );
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep_until((first + Duration::from_secs_f64(warmup_s)).into()).await;
    true
}

/// A sink's measurement window, with the sender and the sink itself watched over it.
pub struct Window {
    /// The sender (`--peer-pid`).
    pub peer: Watched,
    /// The sink itself.
    pub sink: Watched,
    /// Clock ticks per second of the CPU figures.
    clk_tck: u64,
    start: Instant,
    /// The window's length, s (0 until [`Window::close`]).
    pub window_s: f64,
}

impl Window {
    /// Opens the window: reads the sender's (`peer_pid`) and the sink's figures, calls `begin`
    /// (which puts the sink in [`Phase::Window`]) and starts the clock. Returns what `begin` did.
    pub fn open<T>(peer_pid: Option<String>, clk_tck: u64, begin: impl FnOnce() -> T) -> (Self, T) {
        let peer = Watched::start(peer_pid);
        let sink = Watched::start(Some(std::process::id().to_string()));
        let begun = begin();
        let window = Window {
            peer,
            sink,
            clk_tck,
            start: Instant::now(),
            window_s: 0.0,
        };
        (window, begun)
    }

    /// Lets `duration_s` pass from the start, sampling the sender's VmRSS every 100 ms (the first
    /// time at once, the last at or after the end) and calling `sample` with it.
    pub async fn run(&mut self, duration_s: f64, mut sample: impl FnMut()) {
        let end = self.start + Duration::from_secs_f64(duration_s);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            self.peer.sample();
            sample();
            if Instant::now() >= end {
                break;
            }
        }
    }

    /// Closes the window: calls `end` (which puts the sink in [`Phase::Done`]), stops the clock and
    /// reads the sender's and the sink's figures. Returns what `end` did.
    pub fn close<T>(&mut self, end: impl FnOnce() -> T) -> T {
        let ended = end();
        self.window_s = self.start.elapsed().as_secs_f64();
        self.peer.end();
        self.sink.end();
        ended
    }

    /// The CPU use of `w` over the window, in cores (`null` unknown).
    pub fn cores(&self, w: &Watched) -> Value {
        cores(w.cpu_start, w.cpu_end, self.clk_tck, self.window_s)
    }

    /// Writes the JSON line to stdout: the sink's `own` keys, and the keys every sink has:
    /// `window_s`; `messages`, `values` and `_per_s` of both; `expected_values_per_s` and
    /// `received_pct` (from `tags` tags that change every `interval_ms`: see
    /// [`expected_values`]); `values_per_message`, `max_values_per_message`;
    /// `latency_{p50,p99,max,min,mean}_ms` (sorts `counts.latency_us`); the sender's
    /// `peer_pid`, `peer_cpu_cores`, `peer_rss_kb_{start,peak,end}`; `sink_cpu_cores`.
    pub fn print(&self, mut own: Value, counts: &mut Counts, tags: u64, interval_ms: u64) {
        counts.latency_us.sort_unstable();
        let (w, c, l) = (self.window_s, &*counts, &counts.latency_us);
        let expected = expected_values(tags, interval_ms, w);
        let fields = [
            ("window_s", r2(w)),
            ("messages", json!(c.messages)),
            ("messages_per_s", r2(c.messages as f64 / w)),
            ("values", json!(c.values)),
            ("values_per_s", r2(c.values as f64 / w)),
            ("expected_values_per_s", json!(expected.map(|e| r2(e / w)))),
            (
                "received_pct",
                json!(expected.map(|e| r2(c.values as f64 / e * 100.0))),
            ),
            (
                "values_per_message",
                r2(c.values as f64 / c.messages.max(1) as f64),
            ),
            ("max_values_per_message", json!(c.max_values_per_message)),
            ("latency_p50_ms", ms3(pct(l, 50.0))),
            ("latency_p99_ms", ms3(pct(l, 99.0))),
            ("latency_max_ms", ms3(us_to_ms(l.last()))),
            ("latency_min_ms", ms3(us_to_ms(l.first()))),
            ("latency_mean_ms", ms3(mean_ms(l))),
            ("peer_pid", json!(self.peer.pid)),
            ("peer_cpu_cores", self.cores(&self.peer)),
            ("peer_rss_kb_start", json!(self.peer.rss_start)),
            ("peer_rss_kb_peak", json!(self.peer.rss_peak())),
            ("peer_rss_kb_end", json!(self.peer.rss_end)),
            ("sink_cpu_cores", self.cores(&self.sink)),
        ];
        if let Some(map) = own.as_object_mut() {
            map.extend(fields.map(|(k, v)| (k.to_string(), v)));
        }
        println!("{own}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_data_then_warm_up() {
        let t0 = Instant::now();
        let mut asked = 0;
        let ok = wait_for_data("test", "l", 10.0, 0.0, || {
            asked += 1;
            (asked >= 3).then_some(t0)
        })
        .await;
        assert!(ok);
        assert_eq!(asked, 3);
    }

    #[tokio::test]
    async fn gives_up_without_data() {
        assert!(!wait_for_data("test", "l", 0.05, 0.0, || None).await);
    }

    #[test]
    fn counts_messages() {
        let mut c = Counts::default();
        c.message(3);
        c.message(5);
        c.message(1);
        assert_eq!((c.messages, c.values, c.max_values_per_message), (3, 9, 5));
    }

    #[tokio::test]
    async fn opens_runs_and_closes() {
        let mut phase = Phase::Warmup;
        let (mut w, begun) = Window::open(None, 100, || {
            phase = Phase::Window;
            7
        });
        assert_eq!((phase, begun), (Phase::Window, 7));
        let mut samples = 0;
        w.run(0.15, || samples += 1).await;
        assert!((2..=3).contains(&samples), "{samples}");
        w.close(|| phase = Phase::Done);
        assert_eq!(phase, Phase::Done);
        assert!(w.window_s >= 0.15);
        assert!(w.sink.cpu_end.is_some());
        assert_eq!(w.cores(&w.peer), Value::Null);
    }
}
