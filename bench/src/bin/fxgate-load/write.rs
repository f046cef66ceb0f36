//! The write scenario: Write calls of one value to `--write-node`, one after another (with
//! `--write-pace-ms`, random pauses between them); the warm-up's writes are not counted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fxgate_bench::json::{codes_string, Json};
use fxgate_bench::sim::Pace;
use opcua::client::Session;
use opcua::types::{AttributeId, DataValue, DateTime, NodeId, StatusCode, Variant, WriteValue};

use crate::args::{Args, WriteType};
use crate::probe::Probe;
use crate::read::LoopStats;
use crate::{add_no_subscription, BoxError};

/// The `i`th value written: 1, 2, …, 29,999, 1, … as a `t`.
fn write_variant(t: WriteType, i: usize) -> Variant {
    // 1, 2, …, 29,999, 1, … : every write changes the value and fits every type.
    let v = (i % 29_999) + 1;
    match t {
        WriteType::UInt16 => Variant::UInt16(v as u16),
        WriteType::Int16 => Variant::Int16(v as i16),
        WriteType::UInt32 => Variant::UInt32(v as u32),
        WriteType::Int32 => Variant::Int32(v as i32),
        WriteType::Double => Variant::Double(v as f64),
    }
}

/// Runs the write scenario and adds its figures to `j`.
pub(crate) async fn run_write(
    args: &Args,
    session: &Arc<Session>,
    node: &NodeId,
    probe: &Probe,
    j: &mut Json,
) -> Result<(), BoxError> {
    let n = args.writes.max(1);
    let warmup = Duration::from_secs_f64(args.warmup_s.max(0.0));
    let start = Instant::now();
    let mut st = LoopStats::default();
    let mut warmup_writes = 0u64;
    let mut last_good: Option<usize> = None;
    let mut t0: Option<Instant> = None;
    let mut i = 0usize;
    // Bounded: the warm-up, then n counted attempts (failures count as attempts too).
    let mut attempts = 0usize;
    // Pauses seeded from the clock.
    let pace = args.write_pace_ms.max(0.0);
    let mut pauses = Pace::new(DateTime::now().ticks() as u64, pace);
    while attempts < n {
        let measuring = match t0 {
            Some(_) => true,
            None if start.elapsed() >= warmup => {
                let now = Instant::now();
                t0 = Some(now);
                probe.set_window(now, now + Duration::from_secs(365 * 86_400));
                true
            }
            None => false,
        };
        let wv = WriteValue {
            node_id: node.clone(),
            attribute_id: AttributeId::Value as u32,
            index_range: Default::default(),
            value: DataValue::value_only(write_variant(args.write_type, i)),
        };
        let sent = Instant::now();
        let res = session.write(std::slice::from_ref(&wv)).await;
        let us = sent.elapsed().as_micros() as u64;
        if measuring {
            attempts += 1;
        } else {
            warmup_writes += 1;
        }
        match res {
            Ok(codes) => {
                let code = codes
                    .first()
                    .copied()
                    .unwrap_or(StatusCode::BadUnexpectedError);
                if code.is_good() {
                    last_good = Some(i);
                    if measuring {
                        st.requests += 1;
                        st.lat.push(us);
                    }
                } else if measuring {
                    st.errors += 1;
                    *st.codes.entry(code.to_string()).or_default() += 1;
                } else {
                    tracing::debug!("warm-up write: {code}");
                }
            }
            Err(e) => {
                if measuring {
                    st.errors += 1;
                    *st.codes.entry(e.status().to_string()).or_default() += 1;
                }
                tracing::debug!("write failed: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        i += 1;
        if pace > 0.0 && attempts < n {
            tokio::time::sleep(pauses.next_pause()).await;
        }
    }
    let secs = t0.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let mean = st.lat.mean();
    j.str("write_node", &node.to_string());
    j.str("write_type", &format!("{:?}", args.write_type));
    j.num("warmup_writes", warmup_writes as f64);
    j.num("write_pace_ms", pace);
    j.num("duration_s", secs);
    j.num("requests", st.requests as f64);
    j.num(
        "requests_per_s",
        if secs > 0.0 {
            st.requests as f64 / secs
        } else {
            0.0
        },
    );
    std::mem::take(&mut st.lat).add_to(j, "latency");
    j.opt("latency_mean_us", mean);
    j.num("values", st.requests as f64);
    j.num("errors", st.errors as f64);
    j.str("error_codes", &codes_string(&st.codes));
    // The last value written with a Good result (to check against the device).
    match last_good {
        Some(i) => j.str(
            "last_value",
            &format!("{}", write_variant(args.write_type, i)),
        ),
        None => j.opt("last_value", None),
    }
    add_no_subscription(j);
    Ok(())
}
