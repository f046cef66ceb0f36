//! The watch scenario, for soak runs (`bench/soak.py`): one subscription over several groups of
//! nodes (`--group`), kept for `--duration-s` (or until SIGTERM), with one JSON line on stdout
//! every `--report-ms` saying, per group, how many items are Good, Uncertain, Bad (and how many
//! of those BadNoCommunication) or not yet seen, and what was lost.
//!
//! Lost, per group (what the client can prove, as in the subscribe scenario):
//! - `gap_updates`: between two Good values of an item, SourceTimestamps further apart than 1.5
//!   of the group's source interval imply skipped updates ([`ticks::skipped`]). A Bad value in
//!   between resets this (an outage is reported by the status, not as a gap);
//! - `overflow`: values carrying the Overflow bit (the server dropped one before it);
//! - `seq_missing` (whole subscription): NotificationMessage sequence numbers never received.
//!
//! The orchestrator reads the lines as they come and decides; this scenario asserts nothing.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fxgate_bench::json::Json;
use fxgate_bench::ticks;
use opcua::client::{MonitoredItemMap, OnSubscriptionNotificationCore, Session};
use opcua::types::{
    DataChangeNotification, NotificationMessage, StatusChangeNotification, StatusCode,
    TimestampsToReturn,
};

use crate::args::{Args, Group};
use crate::BoxError;
use crate::{browse, session};

/// What an item's last value said.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Unseen,
    Good,
    Uncertain,
    Bad,
    NoCommunication,
}

impl Class {
    fn of(status: StatusCode) -> Class {
        if status.is_good() {
            Class::Good
        } else if status.is_uncertain() {
            Class::Uncertain
        } else if status.sub_code() == StatusCode::BadNoCommunication.sub_code() {
            Class::NoCommunication
        } else {
            Class::Bad
        }
    }
}

struct Item {
    group: usize,
    class: Class,
    last_good_ticks: i64,
}

#[derive(Default, Clone)]
struct GroupStats {
    notifications: u64,
    bad_notifications: u64,
    gap_updates: u64,
    overflow: u64,
}

#[derive(Default)]
struct State {
    items: Vec<Item>,
    groups: Vec<GroupStats>,
    period_ticks: Vec<i64>,
    received: u64,
    max_seq: u32,
    status_changes: u64,
    unknown_handles: u64,
}

impl State {
    fn process(&mut self, msg: NotificationMessage) {
        let data = msg.notification_data.unwrap_or_default();
        if data.is_empty() {
            self.max_seq = self.max_seq.max(msg.sequence_number.saturating_sub(1));
            return;
        }
        self.received += 1;
        self.max_seq = self.max_seq.max(msg.sequence_number);
        for obj in data {
            if let Some(dcn) = obj.inner_as::<DataChangeNotification>() {
                for n in dcn.monitored_items.iter().flatten() {
                    self.value(n.client_handle as usize, &n.value);
                }
            } else if let Some(sc) = obj.inner_as::<StatusChangeNotification>() {
                self.status_changes += 1;
                tracing::warn!("subscription status change: {}", sc.status);
            }
        }
    }

    fn value(&mut self, handle: usize, value: &opcua::types::DataValue) {
        let Some(item) = handle.checked_sub(1).and_then(|i| self.items.get_mut(i)) else {
            self.unknown_handles += 1;
            return;
        };
        let status = value.status.unwrap_or(StatusCode::Good);
        let g = &mut self.groups[item.group];
        g.notifications += 1;
        if status.overflow() {
            g.overflow += 1;
        }
        item.class = Class::of(status);
        if item.class != Class::Good {
            g.bad_notifications += u64::from(item.class != Class::Uncertain);
            item.last_good_ticks = 0;
            return;
        }
        if let Some(ts) = value.source_timestamp {
            let t = ts.ticks();
            if item.last_good_ticks > 0 {
                let period = self.period_ticks[item.group];
                g.gap_updates += ticks::skipped(t - item.last_good_ticks, period).unwrap_or(0);
            }
            item.last_good_ticks = item.last_good_ticks.max(t);
        }
    }

    /// One report line.
    fn line(&self, groups: &[Group], t: f64) -> String {
        let mut j = Json::new();
        j.num("t", t);
        j.num("seq_missing", self.max_seq as f64 - self.received as f64);
        j.num("status_changes", self.status_changes as f64);
        j.num("unknown_handles", self.unknown_handles as f64);
        for (i, g) in groups.iter().enumerate() {
            let mut count = [0u64; 5];
            for it in self.items.iter().filter(|it| it.group == i) {
                count[it.class as usize] += 1;
            }
            let s = &self.groups[i];
            let p = |k: &str| format!("{}.{k}", g.label);
            j.num(&p("unseen"), count[Class::Unseen as usize] as f64);
            j.num(&p("good"), count[Class::Good as usize] as f64);
            j.num(&p("uncertain"), count[Class::Uncertain as usize] as f64);
            j.num(
                &p("bad"),
                (count[Class::Bad as usize] + count[Class::NoCommunication as usize]) as f64,
            );
            j.num(&p("nocomm"), count[Class::NoCommunication as usize] as f64);
            j.num(&p("notifications"), s.notifications as f64);
            j.num(&p("bad_notifications"), s.bad_notifications as f64);
            j.num(&p("gap_updates"), s.gap_updates as f64);
            j.num(&p("overflow"), s.overflow as f64);
        }
        j.render()
    }
}

struct Collector(Arc<Mutex<State>>);

impl OnSubscriptionNotificationCore for Collector {
    fn on_subscription_notification(&mut self, n: NotificationMessage, _: MonitoredItemMap<'_>) {
        if let Ok(mut st) = self.0.lock() {
            st.process(n);
        }
    }
}

/// Runs the watch scenario; returns the last report line.
pub(crate) async fn run_watch(args: &Args, session: &Arc<Session>) -> Result<String, BoxError> {
    if args.group.is_empty() {
        return Err("--scenario watch needs at least one --group".into());
    }
    let mut state = State::default();
    let mut nodes = Vec::new();
    for (i, g) in args.group.iter().enumerate() {
        let ids = browse::nodes_from_prefix(session, &g.prefix, g.count).await?;
        state.items.extend(ids.iter().map(|_| Item {
            group: i,
            class: Class::Unseen,
            last_good_ticks: 0,
        }));
        nodes.extend(ids);
        state.groups.push(GroupStats::default());
        state.period_ticks.push((g.interval_ms * 10_000.0) as i64);
    }
    let shared = Arc::new(Mutex::new(state));
    let sub_id = session::create_subscription(
        session,
        args.publishing_ms,
        args.max_notifications_per_publish,
        Collector(shared.clone()),
    )
    .await?;
    let queue_size = args.queue_size.unwrap_or(10).max(1);
    let chunk = args.create_chunk.max(1);
    let mut created = 0usize;
    for (c, part) in nodes.chunks(chunk).enumerate() {
        let reqs =
            session::item_requests(part, c * chunk + 1, args.sampling_ms.max(0.0), queue_size);
        let results = session
            .create_monitored_items(sub_id, TimestampsToReturn::Both, reqs)
            .await
            .map_err(|e| format!("CreateMonitoredItems: {e}"))?;
        created += results
            .iter()
            .filter(|r| r.result.status_code.is_good())
            .count();
    }
    if created != nodes.len() {
        return Err(format!(
            "only {created} of {} monitored items were created",
            nodes.len()
        )
        .into());
    }
    eprintln!(
        "fxgate-load: watching {created} items in {} groups",
        args.group.len()
    );

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let end = Instant::now() + Duration::from_secs_f64(args.duration_s.max(0.1));
    let mut tick = tokio::time::interval(Duration::from_millis(args.report_ms.max(10)));
    let now_s = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    };
    loop {
        let stop = tokio::select! {
            _ = tick.tick() => Instant::now() >= end,
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => true,
        };
        let line = shared
            .lock()
            .map_err(|_| "watch state poisoned")?
            .line(&args.group, now_s());
        if stop {
            return Ok(line);
        }
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
}
