//! The server processes' figures over the run (`--server-pid`, `--extra-pid`): VmRSS sampled
//! every 100 ms for the peak, and CPU use (utime + stime) over the measurement window.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fxgate_bench::procfs::{clock_ticks_per_s, cpu_ticks, rss_kb};

/// What the probe found for one process.
#[derive(Default, Debug)]
pub(crate) struct ProbeResult {
    /// The highest VmRSS sampled, KiB.
    pub(crate) rss_peak_kb: Option<u64>,
    /// CPU use over the window, % of one core.
    pub(crate) cpu_percent: Option<f64>,
}

/// Samples the RSS of each process every 100 ms until `stop`, and its CPU ticks at the window
/// start/end (one result per pid, in order).
pub(crate) struct Probe {
    stop: Arc<AtomicBool>,
    window: Arc<Mutex<Option<(Instant, Instant)>>>,
    task: tokio::task::JoinHandle<Vec<ProbeResult>>,
}

impl Probe {
    /// Starts sampling `pids` (nothing when empty).
    pub(crate) fn start(pids: Vec<u32>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let window: Arc<Mutex<Option<(Instant, Instant)>>> = Arc::new(Mutex::new(None));
        let (stop2, window2) = (stop.clone(), window.clone());
        let task = tokio::spawn(async move {
            if pids.is_empty() {
                return Vec::new();
            }
            let clk = clock_ticks_per_s();
            let n = pids.len();
            let mut peak: Vec<Option<u64>> = vec![None; n];
            let mut cpu_start: Option<(Instant, Vec<Option<u64>>)> = None;
            let mut cpu_end: Option<(Instant, Vec<Option<u64>>)> = None;
            let ticks = || pids.iter().map(|p| cpu_ticks(*p)).collect::<Vec<_>>();
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                for (k, pid) in pids.iter().enumerate() {
                    if let Some(r) = rss_kb(*pid) {
                        peak[k] = Some(peak[k].map_or(r, |p| p.max(r)));
                    }
                }
                let win = window2.lock().ok().and_then(|w| *w);
                let now = Instant::now();
                if let Some((t0, t1)) = win {
                    if cpu_start.is_none() && now >= t0 {
                        cpu_start = Some((now, ticks()));
                    }
                    if cpu_start.is_some() && cpu_end.is_none() && now >= t1 {
                        cpu_end = Some((now, ticks()));
                    }
                }
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
            }
            if cpu_end.is_none() {
                cpu_end = Some((Instant::now(), ticks()));
            }
            (0..n)
                .map(|k| {
                    let cpu_percent = match (&cpu_start, &cpu_end) {
                        (Some((a, ca)), Some((b, cb))) if b > a => match (ca[k], cb[k]) {
                            (Some(ca), Some(cb)) => Some(
                                cb.saturating_sub(ca) as f64 / clk / (*b - *a).as_secs_f64()
                                    * 100.0,
                            ),
                            _ => None,
                        },
                        _ => None,
                    };
                    ProbeResult {
                        rss_peak_kb: peak[k],
                        cpu_percent,
                    }
                })
                .collect()
        });
        Probe { stop, window, task }
    }

    /// The measurement window, for the CPU figures.
    pub(crate) fn set_window(&self, t0: Instant, t1: Instant) {
        if let Ok(mut w) = self.window.lock() {
            *w = Some((t0, t1));
        }
    }

    /// Stops sampling: one result per pid, in order.
    pub(crate) async fn finish(self) -> Vec<ProbeResult> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}
