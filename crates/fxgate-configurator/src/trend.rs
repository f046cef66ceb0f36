//! The Tags page's trends: the last minutes of a numeric tag (Booleans as 0/1), recorded from
//! the moment someone first asks for it (`GET /ui/api/trend?tag=Demo/Sine`).
//!
//! The gateway keeps no history, so a trend is honest only from when it was asked for: the
//! answer carries `since`, and the page says "recorded since …". Memory is bounded:
//!
//! - at most [`LIMITS`]`.max_tags` (100) tags are recorded; asking for one more drops the one
//!   viewed least recently, and a trend nobody viewed for `idle_ms` (15 min) is dropped too;
//! - each keeps at most `max_points` (600) points, one per `resolution_ms` (1 s) — the last
//!   value of each second — and none older than `window_ms` (10 min);
//! - so at most 100 × 600 points of 24 bytes: about 1.5 MB, whatever the store's size or rate.
//!
//! The recorder samples the recorded tags once per second (`TagStore::with_value`) instead of
//! subscribing to the store's change stream: at 1 s resolution only the last value of each
//! second is kept anyway, and sampling costs 100 slot reads a second where the stream would
//! wake the recorder for every change batch of every tag (100,000 changes/s at the most). A
//! sample whose server timestamp and status are the ones seen before is no new point; the
//! time axis is the gateway's receive time (server timestamp), so a device's clock skew does
//! not move points out of the window. A Bad sample is a gap (`null`); a Bad spell shorter
//! than a second between two samples is not seen. The sampler task starts with the first
//! trend asked for (one per store) and ends when the store is dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use fxgate_config::Role;
use fxgate_core::tag_type::to_f64;
use fxgate_core::{TagId, TagStore, TagValue};
use fxgate_forward::value::status_name;
use opcua::types::{DataTypeId, DateTime};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::routes::{api_session, json_answer, Ui};
use crate::tags::PerStore;

/// How much the recorder keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The span a trend shows, in ms.
    pub(crate) window_ms: i64,
    /// One point per this many ms (the last value in it).
    pub(crate) resolution_ms: i64,
    /// Most points per tag.
    pub(crate) max_points: usize,
    /// Most tags recorded at once.
    pub(crate) max_tags: usize,
    /// A trend not viewed for this long is dropped, in ms.
    pub(crate) idle_ms: i64,
}

/// 10 minutes at 1 s for up to 100 tags, dropped after 15 minutes unviewed.
pub(crate) const LIMITS: Limits = Limits { window_ms: 600_000, resolution_ms: 1_000, max_points: 600, max_tags: 100, idle_ms: 900_000 };

/// One point of a trend: when (ms since 1970, UTC) and the value, `None` for a Bad sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    /// Milliseconds since the Unix epoch.
    pub(crate) t_ms: i64,
    /// The value; `None`: Bad (a gap).
    pub(crate) v: Option<f64>,
}

#[derive(Debug)]
struct Series {
    since_ms: i64,
    viewed_ms: i64,
    points: VecDeque<Point>,
    /// The server timestamp and status of the last sample taken.
    last: Option<(i64, opcua::types::StatusCode)>,
}

/// The trends being recorded, bounded by its [`Limits`].
#[derive(Debug)]
pub(crate) struct Recorder {
    limits: Limits,
    series: HashMap<TagId, Series>,
}

impl Recorder {
    /// Records nothing yet.
    pub(crate) fn new(limits: Limits) -> Self {
        Self { limits, series: HashMap::new() }
    }

    /// Records `id` from now on (dropping the trend viewed least recently when full) or marks
    /// it viewed; answers since when it is recorded.
    pub(crate) fn watch(&mut self, id: TagId, now_ms: i64) -> i64 {
        if let Some(s) = self.series.get_mut(&id) {
            s.viewed_ms = now_ms;
            return s.since_ms;
        }
        while self.series.len() >= self.limits.max_tags.max(1) {
            let Some(oldest) = self.series.iter().min_by_key(|(_, s)| s.viewed_ms).map(|(id, _)| *id) else {
                break;
            };
            self.series.remove(&oldest);
        }
        let cap = self.limits.max_points.min(64);
        self.series.insert(id, Series { since_ms: now_ms, viewed_ms: now_ms, points: VecDeque::with_capacity(cap), last: None });
        now_ms
    }

    /// Whether `id` is recorded.
    pub(crate) fn is_recorded(&self, id: TagId) -> bool {
        self.series.contains_key(&id)
    }

    /// The tags recorded.
    pub(crate) fn ids(&self) -> Vec<TagId> {
        self.series.keys().copied().collect()
    }

    /// How many tags are recorded.
    pub(crate) fn len(&self) -> usize {
        self.series.len()
    }

    /// A sample of `id` received at `t_ms` with `status` (`v`: `None` when Bad). The same
    /// receive time and status as the last sample: nothing new. In the same
    /// `resolution_ms` as the last point: it replaces it (the last value of each period).
    pub(crate) fn record(&mut self, id: TagId, t_ms: i64, status: opcua::types::StatusCode, v: Option<f64>, now_ms: i64) {
        let Some(s) = self.series.get_mut(&id) else {
            return;
        };
        if s.last == Some((t_ms, status)) {
            return;
        }
        s.last = Some((t_ms, status));
        let res = self.limits.resolution_ms.max(1);
        match s.points.back_mut() {
            Some(b) if t_ms.div_euclid(res) <= b.t_ms.div_euclid(res) => *b = Point { t_ms: t_ms.max(b.t_ms), v },
            _ => s.points.push_back(Point { t_ms, v }),
        }
        trim(&mut s.points, &self.limits, now_ms);
    }

    /// Drops the trends not viewed for `idle_ms` and the points older than the window.
    pub(crate) fn expire(&mut self, now_ms: i64) {
        let limits = self.limits;
        self.series.retain(|_, s| now_ms - s.viewed_ms < limits.idle_ms);
        for s in self.series.values_mut() {
            trim(&mut s.points, &limits, now_ms);
        }
    }

    /// Since when `id` is recorded and its points, oldest first.
    pub(crate) fn points(&self, id: TagId) -> Option<(i64, impl Iterator<Item = &Point>)> {
        self.series.get(&id).map(|s| (s.since_ms, s.points.iter()))
    }

    /// Takes a sample of each recorded tag from `store`.
    pub(crate) fn sample(&mut self, store: &TagStore, now_ms: i64) {
        self.expire(now_ms);
        for id in self.ids() {
            self.sample_one(store, id, now_ms);
        }
    }

    /// Takes a sample of `id` from `store`.
    pub(crate) fn sample_one(&mut self, store: &TagStore, id: TagId, now_ms: i64) {
        if let Some((t, status, v)) = store.with_value(id, |v| reading(v, now_ms)) {
            self.record(id, t, status, v, now_ms);
        }
    }
}

/// The receive time, status and number of `v` (`None` when Bad or not a number).
fn reading(v: &TagValue, now_ms: i64) -> (i64, opcua::types::StatusCode, Option<f64>) {
    let t = if v.server_timestamp.is_null() { now_ms } else { unix_ms(&v.server_timestamp) };
    let n = if v.status.is_bad() { None } else { to_f64(&v.value).filter(|x| x.is_finite()) };
    (t, v.status, n)
}

fn trim(points: &mut VecDeque<Point>, limits: &Limits, now_ms: i64) {
    while points.len() > limits.max_points || points.front().is_some_and(|p| p.t_ms < now_ms - limits.window_ms) {
        points.pop_front();
    }
}

/// Milliseconds since the Unix epoch.
fn unix_ms(t: &DateTime) -> i64 {
    t.as_chrono().timestamp_millis()
}

fn now_ms() -> i64 {
    unix_ms(&DateTime::now())
}

/// Whether a tag of this type has a trend: numbers, and Booleans as 0/1.
pub(crate) fn is_numeric(t: DataTypeId) -> bool {
    use DataTypeId as D;
    matches!(t, D::Boolean | D::SByte | D::Byte | D::Int16 | D::UInt16 | D::Int32 | D::UInt32 | D::Int64 | D::UInt64 | D::Float | D::Double)
}

/// A store's recorder; its sampler task holds it weakly.
struct Trends(Mutex<Recorder>);

static TRENDS: PerStore<Trends> = PerStore::new();

/// The recorder of `store`, and its sampler started, on first use.
fn trends_of(store: &Arc<TagStore>) -> Arc<Trends> {
    let (trends, made) = TRENDS.get_or_make(store, || Trends(Mutex::new(Recorder::new(LIMITS))));
    if made {
        tokio::spawn(sampler(Arc::downgrade(store), Arc::downgrade(&trends)));
    }
    trends
}

/// Samples the recorded tags once per `resolution_ms` while the store lives.
async fn sampler(store: Weak<TagStore>, trends: Weak<Trends>) {
    let mut tick = tokio::time::interval(Duration::from_millis(LIMITS.resolution_ms.unsigned_abs()));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let (Some(store), Some(trends)) = (store.upgrade(), trends.upgrade()) else {
            break;
        };
        trends.0.lock().sample(&store, now_ms());
    }
}

/// Why a trend is not drawn.
#[derive(Debug, PartialEq)]
pub(crate) enum Refused {
    /// No tag has this path.
    Unknown(String),
    /// The tag is not a number or Boolean.
    NotNumeric {
        /// The tag's path.
        tag: String,
        /// Its data type.
        data_type: DataTypeId,
    },
    /// The tag is not recorded yet and has no usable value now.
    Bad {
        /// The tag's path.
        tag: String,
        /// Its status now.
        status: String,
    },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Unknown(tag) => write!(f, "no tag `{tag}`"),
            Refused::NotNumeric { tag, data_type } => {
                write!(f, "`{tag}` is {data_type:?}: a trend is drawn for numbers and Booleans (as 0/1) only")
            }
            Refused::Bad { tag, status } => write!(f, "`{tag}` is {status} now: its trend starts once it has a Good or Uncertain value"),
        }
    }
}

impl Refused {
    fn answer(&self) -> Response {
        let code = match self {
            Refused::Unknown(_) => StatusCode::NOT_FOUND,
            Refused::NotNumeric { .. } | Refused::Bad { .. } => StatusCode::BAD_REQUEST,
        };
        json_answer(code, json!({"error": self.to_string()}))
    }
}

/// The routes of the trend API.
pub(crate) fn routes() -> Router<Ui> {
    Router::new().route("/ui/api/trend", get(trend))
}

#[derive(Deserialize)]
struct TrendQuery {
    tag: String,
}

/// Starts (or goes on) recording `tag`; its points so far.
fn trend_of(store: &Arc<TagStore>, tag: &str) -> Result<Value, Refused> {
    let id = store.id_of(tag).ok_or_else(|| Refused::Unknown(tag.to_string()))?;
    let def = store.def(id).ok_or_else(|| Refused::Unknown(tag.to_string()))?;
    if !is_numeric(def.data_type) {
        return Err(Refused::NotNumeric { tag: tag.to_string(), data_type: def.data_type });
    }
    let trends = trends_of(store);
    let mut rec = trends.0.lock();
    if !rec.is_recorded(id) {
        if let Some(status) = store.with_value(id, |v| v.status).filter(|s| s.is_bad()) {
            return Err(Refused::Bad { tag: tag.to_string(), status: status_name(status).into_owned() });
        }
    }
    let now = now_ms();
    let since = rec.watch(id, now);
    rec.sample_one(store, id, now);
    let points: Vec<Value> = rec.points(id).map(|(_, p)| p.map(|p| json!([p.t_ms, p.v])).collect()).unwrap_or_default();
    Ok(json!({
        "tag": tag, "since": since, "now": now, "window_ms": LIMITS.window_ms, "resolution_ms": LIMITS.resolution_ms,
        "points": points, "recorded_tags": rec.len(), "max_tags": LIMITS.max_tags,
    }))
}

/// `GET /ui/api/trend?tag=Demo/Sine`: `{tag, since, now, points: [[t_ms, v|null], …]}`.
async fn trend(State(ui): State<Ui>, headers: HeaderMap, Query(q): Query<TrendQuery>) -> Response {
    if let Err(d) = api_session(&ui, &headers, Role::Read) {
        return d.answer();
    }
    match trend_of(&ui.settings.store, &q.tag) {
        Ok(v) => json_answer(StatusCode::OK, v),
        Err(e) => e.answer(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fxgate_core::{AccessMode, TagDef, TagStoreBuilder};
    use opcua::types::StatusCode as S;

    const SMALL: Limits = Limits { window_ms: 10_000, resolution_ms: 1_000, max_points: 5, max_tags: 3, idle_ms: 60_000 };

    /// A store with `Demo/<name>` tags of these types, and their ids.
    fn store_of(tags: &[(&str, DataTypeId)]) -> (Arc<TagStore>, Vec<TagId>) {
        let mut b = TagStoreBuilder::new();
        let ids = tags
            .iter()
            .filter_map(|(name, data_type)| {
                let def = TagDef {
                    source: Arc::from("Demo"),
                    name: name.to_string(),
                    data_type: *data_type,
                    access: AccessMode::Read,
                    description: String::new(),
                    meta: None,
                };
                b.add_tag(def).ok()
            })
            .collect::<Vec<_>>();
        assert_eq!(ids.len(), tags.len(), "tags not added");
        (b.build(), ids)
    }

    fn values(r: &Recorder, id: TagId) -> Vec<(i64, Option<f64>)> {
        r.points(id).map(|(_, p)| p.map(|p| (p.t_ms, p.v)).collect()).unwrap_or_default()
    }

    #[test]
    fn last_value_per_second_and_gaps() {
        let mut r = Recorder::new(SMALL);
        assert_eq!(r.watch(7, 1_000), 1_000);
        r.record(7, 1_000, S::Good, Some(1.0), 1_000);
        r.record(7, 1_400, S::Good, Some(2.0), 1_400);
        r.record(7, 1_900, S::Good, Some(3.0), 1_900);
        r.record(7, 2_100, S::BadNoCommunication, None, 2_100);
        r.record(7, 2_100, S::BadNoCommunication, None, 2_600);
        r.record(7, 3_000, S::Good, Some(4.0), 3_000);
        assert_eq!(values(&r, 7), [(1_900, Some(3.0)), (2_100, None), (3_000, Some(4.0))]);
        r.record(8, 3_000, S::Good, Some(1.0), 3_000);
        assert!(values(&r, 8).is_empty(), "a tag not watched is not recorded");
    }

    #[test]
    fn points_are_bounded_by_count_and_window() {
        let mut r = Recorder::new(SMALL);
        r.watch(1, 0);
        for s in 0..8 {
            r.record(1, s * 1_000, S::Good, Some(s as f64), s * 1_000);
        }
        assert_eq!(values(&r, 1).len(), 5, "max_points");
        assert_eq!(values(&r, 1)[0], (3_000, Some(3.0)));
        r.expire(14_500);
        assert_eq!(values(&r, 1), [(5_000, Some(5.0)), (6_000, Some(6.0)), (7_000, Some(7.0))], "older than 10 s dropped");
    }

    #[test]
    fn least_recently_viewed_is_evicted_and_idle_ones_dropped() {
        let mut r = Recorder::new(SMALL);
        r.watch(1, 0);
        r.watch(2, 10);
        r.watch(3, 20);
        assert_eq!(r.watch(1, 30), 0, "viewed again: still recorded since 0");
        r.watch(4, 40);
        let mut ids = r.ids();
        ids.sort_unstable();
        assert_eq!(ids, [1, 3, 4], "2 was viewed least recently");
        assert_eq!(r.len(), 3);
        r.watch(3, 50_000);
        r.expire(65_000);
        assert_eq!(r.ids(), [3], "1 and 4 were not viewed for a minute");
    }

    #[test]
    fn samples_come_from_the_store() {
        let (store, ids) = store_of(&[("Sine", DataTypeId::Double), ("On", DataTypeId::Boolean)]);
        let (sine, on) = (ids[0], ids[1]);
        assert!(is_numeric(DataTypeId::Boolean) && !is_numeric(DataTypeId::String));
        let mut r = Recorder::new(SMALL);
        let now = now_ms();
        r.watch(sine, now);
        r.watch(on, now);
        r.sample(&store, now);
        assert_eq!(values(&r, sine).len(), 1);
        assert_eq!(values(&r, sine)[0].1, None, "waiting for initial data: a gap");
        store.update(vec![(sine, TagValue::good(0.5)), (on, TagValue::good(true))]);
        r.sample(&store, now + 1_000);
        r.sample(&store, now + 2_000);
        let v = values(&r, sine);
        assert_eq!(v.last().map(|p| p.1), Some(Some(0.5)));
        assert!(v.len() <= 2, "an unchanged value is sampled once: {v:?}");
        assert_eq!(values(&r, on).last().map(|p| p.1), Some(Some(1.0)));
    }

    #[tokio::test]
    async fn the_api_refuses_what_has_no_trend() {
        let (store, ids) = store_of(&[("Sine", DataTypeId::Double), ("Text", DataTypeId::String)]);
        let sine = ids[0];
        assert_eq!(trend_of(&store, "Demo/Nope"), Err(Refused::Unknown("Demo/Nope".into())));
        assert!(matches!(trend_of(&store, "Demo/Text"), Err(Refused::NotNumeric { .. })));
        let bad = trend_of(&store, "Demo/Sine");
        assert!(matches!(&bad, Err(Refused::Bad { status, .. }) if status == "Bad_WaitingForInitialData"), "{bad:?}");
        store.update(vec![(sine, TagValue::good(0.25))]);
        let Ok(t) = trend_of(&store, "Demo/Sine") else { panic!("a Good tag has a trend") };
        assert_eq!(t["points"].as_array().map(|p| p.len()), Some(1));
        assert_eq!(t["points"][0][1], json!(0.25));
    }
}
