//! The read scenario: `--concurrency` loops (over `--sessions` sessions) each sending Read
//! requests of `--batch` values back to back, cycling through the node list.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fxgate_bench::json::{codes_string, Json};
use fxgate_bench::summary::Latencies;
use opcua::client::Session;
use opcua::types::{DateTime, NodeId, ReadValueId, TimestampsToReturn};

use crate::args::Args;
use crate::probe::Probe;
use crate::{add_no_subscription, add_rates, BoxError};

/// What a request loop counts (the write scenario counts its writes the same way).
#[derive(Default)]
pub(crate) struct LoopStats {
    pub(crate) requests: u64,
    pub(crate) values: u64,
    pub(crate) bad_values: u64,
    pub(crate) short_responses: u64,
    pub(crate) errors: u64,
    pub(crate) codes: BTreeMap<String, u64>,
    pub(crate) lat: Latencies,
    /// Read: per response, the age of its oldest value (receive time − SourceTimestamp).
    pub(crate) age: Latencies,
    /// Read: values without a SourceTimestamp.
    pub(crate) no_source_ts: u64,
    /// Read: requests sent, warm-up included.
    pub(crate) sent_total: u64,
}

/// Runs the read scenario and adds its figures to `j`.
pub(crate) async fn run_read(
    args: &Args,
    sessions: &[Arc<Session>],
    nodes: Vec<NodeId>,
    probe: &Probe,
    j: &mut Json,
) -> Result<(), BoxError> {
    let batch = args.batch.max(1);
    // Pre-build the request bodies: consecutive batches cycling through the node list.
    let n_batches = nodes.len().div_ceil(batch).max(1);
    let batches: Arc<Vec<Vec<ReadValueId>>> = Arc::new(
        (0..n_batches)
            .map(|b| {
                (0..batch)
                    .map(|k| ReadValueId::from(&nodes[(b * batch + k) % nodes.len()]))
                    .collect()
            })
            .collect(),
    );
    let start = Instant::now();
    let t0 = start + Duration::from_secs_f64(args.warmup_s.max(0.0));
    let t1 = t0 + Duration::from_secs_f64(args.duration_s.max(0.1));
    probe.set_window(t0, t1);

    let conc = args.concurrency.max(1);
    let max_age = args.max_age_ms.max(0.0);
    let mut tasks = Vec::with_capacity(conc);
    for l in 0..conc {
        let session = sessions[l % sessions.len()].clone();
        let batches = batches.clone();
        tasks.push(tokio::spawn(async move {
            let mut st = LoopStats::default();
            let mut idx = (l * batches.len()) / conc;
            loop {
                let sent = Instant::now();
                if sent >= t1 {
                    break;
                }
                let req = &batches[idx % batches.len()];
                idx += 1;
                let res = session.read(req, TimestampsToReturn::Both, max_age).await;
                st.sent_total += 1;
                let done = Instant::now();
                let in_window = sent >= t0 && done <= t1;
                match res {
                    Ok(values) => {
                        if in_window {
                            let now_ticks = DateTime::now().ticks();
                            let mut oldest: Option<i64> = None;
                            for v in &values {
                                match v.source_timestamp {
                                    Some(ts) => {
                                        let t = ts.ticks();
                                        oldest = Some(oldest.map_or(t, |o| o.min(t)));
                                    }
                                    None => st.no_source_ts += 1,
                                }
                            }
                            if let Some(o) = oldest {
                                // 100 ns ticks -> µs; a timestamp in the future counts as 0.
                                st.age.push(((now_ticks - o).max(0) / 10) as u64);
                            }
                            st.requests += 1;
                            st.values += values.len() as u64;
                            st.bad_values +=
                                values.iter().filter(|v| !v.status().is_good()).count() as u64;
                            if values.len() != req.len() {
                                st.short_responses += 1;
                            }
                            st.lat.push((done - sent).as_micros() as u64);
                        }
                    }
                    Err(e) => {
                        if sent >= t0 {
                            st.errors += 1;
                            *st.codes.entry(e.status().to_string()).or_default() += 1;
                        }
                        tracing::debug!("read failed: {e}");
                        // Avoid a hot loop while the connection is down.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            st
        }));
    }
    let mut total = LoopStats::default();
    for t in tasks {
        match t.await {
            Ok(st) => {
                total.requests += st.requests;
                total.values += st.values;
                total.bad_values += st.bad_values;
                total.short_responses += st.short_responses;
                total.errors += st.errors;
                total.no_source_ts += st.no_source_ts;
                total.sent_total += st.sent_total;
                for (k, v) in st.codes {
                    *total.codes.entry(k).or_default() += v;
                }
                total.lat.0.extend(st.lat.0);
                total.age.0.extend(st.age.0);
            }
            Err(e) => {
                total.errors += 1;
                *total.codes.entry(format!("task:{e}")).or_default() += 1;
            }
        }
    }
    let secs = (t1 - t0).as_secs_f64();
    j.num("batch", batch as f64);
    j.num("max_age_ms", max_age);
    j.num("concurrency", conc as f64);
    j.num("sessions", sessions.len() as f64);
    let lat = std::mem::take(&mut total.lat);
    add_rates(j, secs, total.requests, lat, total.values, total.bad_values);
    j.num("short_responses", total.short_responses as f64);
    j.num("errors", total.errors as f64);
    j.str("error_codes", &codes_string(&total.codes));
    std::mem::take(&mut total.age).add_to(j, "value_age");
    j.num("values_without_source_ts", total.no_source_ts as f64);
    j.num("requests_total", total.sent_total as f64);
    add_no_subscription(j);
    Ok(())
}
