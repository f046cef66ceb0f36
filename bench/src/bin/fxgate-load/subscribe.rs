//! The subscribe scenario: one subscription with `--items` monitored items; counts the
//! notifications per item and proves lost ones from the sequence numbers (with Republish) and
//! the Overflow bit (see [`SubShared`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fxgate_bench::json::{codes_string, Json};
use fxgate_bench::summary::Latencies;
use fxgate_bench::ticks;
use opcua::client::{MonitoredItemMap, OnSubscriptionNotificationCore, Session};
use opcua::types::{
    DataChangeNotification, DateTime, NodeId, NotificationMessage, StatusChangeNotification,
    StatusCode, TimestampsToReturn,
};

use crate::args::Args;
use crate::probe::Probe;
use crate::{add_rates, BoxError};

/// Shared state of the subscription collector.
///
/// How "lost" is determined (only what the client can prove):
///
/// 1. Sequence numbers. Every NotificationMessage that carries notifications consumes the next
///    sequence number of the subscription (1, 2, 3, ...); keep-alive messages carry the *next*
///    number without consuming it, so a keep-alive with number K proves that 1..K-1 were all
///    sent. Publish responses can be processed slightly out of order (several publish requests
///    are outstanding), so a number that is missing is only acted upon after a grace period
///    (`REPUBLISH_GRACE`): the client then asks for it with Republish. If the server returns it,
///    its notifications are counted normally (`republished`); if it answers
///    BadMessageNotAvailable (or keeps failing), the message is proven lost (`lost_messages`).
///    A lost message contained at least one notification (empty messages do not consume a
///    number), so each counts as >= 1 lost notification.
/// 2. Overflow bit. When a monitored item's queue overflows, the server drops a value and sets
///    the Overflow info bit on the next one it delivers (Part 4, 7.20). Each flagged value proves
///    >= 1 dropped value (`overflow`).
///
/// `lost` = lost_messages + overflow: a lower bound on notifications the server produced (or
/// should have) but the client never received.
///
/// Not part of `lost`, reported separately as an estimate: `missed_updates_est` — per item,
/// consecutive SourceTimestamps further apart than 1.5 source intervals imply
/// round(gap / interval) − 1 skipped updates. This depends on the server honouring the sampling
/// interval and on the source really changing every interval, so it is a heuristic, not proof.
/// `silent_items` = items that received nothing during the window. `expected_notifications` =
/// items × window / max(revised sampling interval, source interval).
struct SubShared {
    measuring: AtomicBool,
    stats: Mutex<SubStats>,
}

#[derive(Default)]
struct SubStats {
    received: BTreeSet<u32>,
    max_known_seq: u32,
    pending_since: HashMap<u32, Instant>,
    republish_attempts: HashMap<u32, u32>,
    resolved_upto: u32,
    lost_seqs: BTreeSet<u32>,
    republished: u64,
    data_messages_total: u64,
    data_messages_window: u64,
    keepalives: u64,
    status_changes: u64,
    notifications_total: u64,
    notifications_window: u64,
    per_item_window: Vec<u32>,
    last_source_ticks: Vec<i64>,
    overflow: u64,
    bad_values: u64,
    unknown_handles: u64,
    missed_est: u64,
    lat: Latencies,
    period_ticks: i64,
}

const REPUBLISH_GRACE: Duration = Duration::from_millis(500);
const REPUBLISH_MAX_ATTEMPTS: u32 = 3;

impl SubShared {
    fn process(&self, msg: NotificationMessage, republished: bool) {
        let now_ticks = DateTime::now().ticks();
        let measuring = self.measuring.load(Ordering::Relaxed);
        let Ok(mut guard) = self.stats.lock() else {
            return;
        };
        let st = &mut *guard;
        let seq = msg.sequence_number;
        let data = msg.notification_data.unwrap_or_default();
        if data.is_empty() {
            // Keep-alive: proves that every number below `seq` was sent.
            st.keepalives += 1;
            st.max_known_seq = st.max_known_seq.max(seq.saturating_sub(1));
            return;
        }
        st.received.insert(seq);
        st.pending_since.remove(&seq);
        st.max_known_seq = st.max_known_seq.max(seq);
        st.data_messages_total += 1;
        if republished {
            st.republished += 1;
        }
        if measuring {
            st.data_messages_window += 1;
        }
        let n_items = st.per_item_window.len();
        for obj in data {
            if let Some(dcn) = obj.inner_as::<DataChangeNotification>() {
                for n in dcn.monitored_items.iter().flatten() {
                    let h = n.client_handle as usize;
                    if h == 0 || h > n_items {
                        st.unknown_handles += 1;
                        continue;
                    }
                    let i = h - 1;
                    st.notifications_total += 1;
                    let status = n.value.status.unwrap_or(StatusCode::Good);
                    if measuring {
                        if status.overflow() {
                            st.overflow += 1;
                        }
                        if !status.is_good() {
                            st.bad_values += 1;
                        }
                        st.notifications_window += 1;
                        st.per_item_window[i] += 1;
                    }
                    if let Some(ts) = n.value.source_timestamp {
                        let t = ts.ticks();
                        if measuring {
                            // 100 ns ticks -> µs; a timestamp in the future counts as 0.
                            st.lat.push(((now_ticks - t).max(0) / 10) as u64);
                            let prev = st.last_source_ticks[i];
                            if prev > 0 {
                                st.missed_est +=
                                    ticks::skipped(t - prev, st.period_ticks).unwrap_or(0);
                            }
                        }
                        if t > st.last_source_ticks[i] {
                            st.last_source_ticks[i] = t;
                        }
                    }
                }
            } else if let Some(sc) = obj.inner_as::<StatusChangeNotification>() {
                st.status_changes += 1;
                tracing::warn!("subscription status change: {}", sc.status);
            }
        }
    }

    /// Sequence numbers that have been missing for longer than the grace period (or all
    /// missing ones when `final_sweep`), excluding those already given up on.
    fn due_for_republish(&self, final_sweep: bool) -> Vec<u32> {
        let Ok(mut st) = self.stats.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        let mut due = Vec::new();
        // Advance the watermark over received / lost numbers.
        while st.resolved_upto < st.max_known_seq {
            let next = st.resolved_upto + 1;
            if st.received.contains(&next) || st.lost_seqs.contains(&next) {
                st.resolved_upto = next;
            } else {
                break;
            }
        }
        let from = st.resolved_upto + 1;
        let to = st.max_known_seq;
        for s in from..=to {
            if st.received.contains(&s) || st.lost_seqs.contains(&s) {
                continue;
            }
            let since = *st.pending_since.entry(s).or_insert(now);
            if final_sweep || now.duration_since(since) >= REPUBLISH_GRACE {
                due.push(s);
            }
        }
        due
    }

    fn republish_failed(&self, seq: u32, definitive: bool) {
        if let Ok(mut st) = self.stats.lock() {
            let attempts = {
                let a = st.republish_attempts.entry(seq).or_insert(0);
                *a += 1;
                *a
            };
            if definitive || attempts >= REPUBLISH_MAX_ATTEMPTS {
                st.lost_seqs.insert(seq);
                st.pending_since.remove(&seq);
            }
        }
    }
}

struct Collector(Arc<SubShared>);

impl OnSubscriptionNotificationCore for Collector {
    fn on_subscription_notification(
        &mut self,
        notification: NotificationMessage,
        _monitored_items: MonitoredItemMap<'_>,
    ) {
        // Called by the session's publish loop with the subscription state locked: keep it cheap.
        self.0.process(notification, false);
    }
}

async fn republish_round(session: &Session, sub_id: u32, shared: &SubShared, final_sweep: bool) {
    for seq in shared.due_for_republish(final_sweep) {
        match session.republish(sub_id, seq).await {
            Ok(msg) => {
                let msg = NotificationMessage {
                    sequence_number: seq,
                    ..msg
                };
                if msg.notification_data.as_ref().is_none_or(|d| d.is_empty()) {
                    shared.republish_failed(seq, true);
                } else {
                    shared.process(msg, true);
                }
            }
            Err(e) => {
                let definitive = e.status() == StatusCode::BadMessageNotAvailable;
                tracing::warn!("republish seq {seq}: {e}");
                shared.republish_failed(seq, definitive || final_sweep);
            }
        }
    }
}

/// Runs the subscribe scenario and adds its figures to `j`.
pub(crate) async fn run_subscribe(
    args: &Args,
    session: &Arc<Session>,
    nodes: Vec<NodeId>,
    probe: &Probe,
    j: &mut Json,
) -> Result<(), BoxError> {
    let items = args.items.min(nodes.len()).max(1);
    if args.items > nodes.len() {
        tracing::warn!("only {} nodes available, subscribing {items}", nodes.len());
    }
    let sampling = args.sampling_ms.max(0.0);
    let publishing = args.publishing_ms.max(1.0);
    let queue_size = args
        .queue_size
        .unwrap_or_else(|| (publishing / sampling.max(1.0)).ceil() as u32 + 1)
        .max(1);

    let shared = Arc::new(SubShared {
        measuring: AtomicBool::new(false),
        stats: Mutex::new(SubStats {
            per_item_window: vec![0; items],
            last_source_ticks: vec![0; items],
            ..Default::default()
        }),
    });
    let sub_id = crate::session::create_subscription(
        session,
        publishing,
        args.max_notifications_per_publish,
        Collector(shared.clone()),
    )
    .await?;

    let t_create = Instant::now();
    let mut create_errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut created = 0usize;
    let mut revised_sampling: Option<f64> = None;
    for (c, chunk) in nodes[..items].chunks(args.create_chunk.max(1)).enumerate() {
        let base = c * args.create_chunk.max(1);
        let reqs = crate::session::item_requests(chunk, base + 1, sampling, queue_size);
        match session
            .create_monitored_items(sub_id, TimestampsToReturn::Both, reqs)
            .await
        {
            Ok(results) => {
                for r in results {
                    if r.result.status_code.is_good() {
                        created += 1;
                        revised_sampling.get_or_insert(r.result.revised_sampling_interval);
                    } else {
                        *create_errors
                            .entry(r.result.status_code.to_string())
                            .or_default() += 1;
                    }
                }
            }
            Err(e) => {
                *create_errors.entry(e.status().to_string()).or_default() += chunk.len() as u64;
                tracing::warn!("CreateMonitoredItems: {e}");
            }
        }
    }
    let create_ms = t_create.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "fxgate-load: subscription {sub_id}: {created}/{items} monitored items in {create_ms:.0} ms"
    );
    if created == 0 {
        return Err(format!(
            "no monitored item could be created ({})",
            codes_string(&create_errors)
        )
        .into());
    }
    let eff_sampling = revised_sampling.unwrap_or(sampling);
    let source_interval = args.source_interval_ms.unwrap_or(sampling);
    let period_ms = eff_sampling.max(source_interval).max(1.0);
    if let Ok(mut st) = shared.stats.lock() {
        st.period_ticks = (period_ms * 10_000.0) as i64;
    }

    let t0 = Instant::now() + Duration::from_secs_f64(args.warmup_s.max(0.0));
    let t1 = t0 + Duration::from_secs_f64(args.duration_s.max(0.1));
    probe.set_window(t0, t1);

    // Republish task: runs during warm-up and the window.
    let stop = Arc::new(AtomicBool::new(false));
    let rp = {
        let (session, shared, stop) = (session.clone(), shared.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(250)).await;
                republish_round(&session, sub_id, &shared, false).await;
            }
        })
    };

    // SIGTERM ends the window early (the report is still printed): lets a script keep a
    // subscription running in the background exactly as long as it needs it.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(terminated);
    let mut stopped_early = false;
    tokio::select! {
        _ = tokio::time::sleep_until(t0.into()) => {}
        _ = &mut terminated => stopped_early = true,
    }
    shared.measuring.store(true, Ordering::Relaxed);
    let t0_actual = Instant::now();
    if !stopped_early {
        tokio::select! {
            _ = tokio::time::sleep_until(t1.into()) => {}
            _ = &mut terminated => stopped_early = true,
        }
    }
    if stopped_early {
        eprintln!("fxgate-load: SIGTERM: window ended early");
    }
    shared.measuring.store(false, Ordering::Relaxed);
    let secs = t0_actual.elapsed().as_secs_f64();

    // Let in-flight publish responses land, then resolve every remaining gap.
    tokio::time::sleep(REPUBLISH_GRACE + Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let rp_abort = rp.abort_handle();
    if tokio::time::timeout(Duration::from_secs(10), rp)
        .await
        .is_err()
    {
        rp_abort.abort();
    }
    // Bounded, even if the server stopped answering.
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        republish_round(session, sub_id, &shared, true),
    )
    .await;
    // The subscription is deleted by the session close in `run` (deleting it here would only
    // make the still-outstanding publish requests fail with BadNoSubscription).

    let mut st = shared
        .stats
        .lock()
        .map_err(|_| "collector state poisoned")?;
    // Every number up to the highest one known to exist that never arrived (directly or via
    // Republish) is lost — including any the final sweep could not resolve in time.
    let lost_messages = (1..=st.max_known_seq)
        .filter(|s| !st.received.contains(s))
        .count() as u64;
    let silent = st.per_item_window.iter().filter(|c| **c == 0).count();
    let min_per_item = st.per_item_window.iter().copied().min().unwrap_or(0);
    let max_per_item = st.per_item_window.iter().copied().max().unwrap_or(0);
    let expected = created as f64 * (secs * 1000.0 / period_ms).floor();

    j.num("items", items as f64);
    j.num("items_created", created as f64);
    j.num("stopped_early", if stopped_early { 1.0 } else { 0.0 });
    j.str("create_errors", &codes_string(&create_errors));
    j.num("create_ms", create_ms.round());
    j.num("sampling_ms", sampling);
    j.num("revised_sampling_ms", eff_sampling);
    j.num("publishing_ms", publishing);
    j.num("queue_size", queue_size);
    let lat = std::mem::take(&mut st.lat);
    let (messages, values) = (st.data_messages_window, st.notifications_window);
    add_rates(j, secs, messages, lat, values, st.bad_values);
    j.num("errors", st.unknown_handles as f64);
    j.str("error_codes", "");
    j.num("notifications", st.notifications_window as f64);
    j.num("notifications_total", st.notifications_total as f64);
    j.num("expected_notifications", expected);
    j.num("lost", (lost_messages + st.overflow) as f64);
    j.num("lost_messages", lost_messages as f64);
    j.num("overflow", st.overflow as f64);
    j.num("republished", st.republished as f64);
    j.num("max_sequence", st.max_known_seq as f64);
    j.num("data_messages_total", st.data_messages_total as f64);
    j.num("keepalives", st.keepalives as f64);
    j.num("status_changes", st.status_changes as f64);
    j.num("missed_updates_est", st.missed_est as f64);
    j.num("silent_items", silent as f64);
    j.num("min_per_item", min_per_item as f64);
    j.num("max_per_item", max_per_item as f64);
    Ok(())
}
