//! Topics to tags: each `[[mqtt.tag]]` is set by the messages its filter matches; the
//! values' quality follows the connections (Bad_NoCommunication when no broker is connected)
//! and the messages (Uncertain_LastUsableValue after `stale_after_ms` without one,
//! Bad_DecodingError for a payload that does not decode).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fxgate_core::{TagId, TagStore, TagValue};
use opcua::types::{DateTime, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use crate::config::{MqttTagConfig, PayloadFormat};
use crate::decode::Decoder;
use crate::metrics::ClientMetrics;
use crate::wire::Message;

/// At most one warning per topic in this time.
const WARN_EVERY: Duration = Duration::from_secs(10);

struct Tag {
    id: TagId,
    decoder: Decoder,
    stale_after: Option<Duration>,
    last: Option<Instant>,
    stale: bool,
}

/// The southbound tags of one client.
pub struct Southbound {
    tags: Vec<Tag>,
    /// Exact topics → tag indexes.
    exact: HashMap<String, Vec<usize>>,
    /// Filters with wildcards → tag indexes.
    wild: Vec<(String, Vec<usize>)>,
    /// Command topics by tag id.
    commands: HashMap<TagId, (String, PayloadFormat)>,
    store: Arc<TagStore>,
    metrics: ClientMetrics,
    warned: HashMap<String, Instant>,
    client: String,
}

impl Southbound {
    /// The tags of `cfg` with the ids the store gave them.
    pub fn new(client: &str, cfg: &[MqttTagConfig], ids: &[TagId], store: Arc<TagStore>, metrics: ClientMetrics) -> Self {
        let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
        let mut wild: Vec<(String, Vec<usize>)> = Vec::new();
        let mut tags = Vec::new();
        let mut commands = HashMap::new();
        for (i, (t, &id)) in cfg.iter().zip(ids).enumerate() {
            if t.topic.contains(['+', '#']) {
                match wild.iter_mut().find(|(f, _)| *f == t.topic) {
                    Some((_, v)) => v.push(i),
                    None => wild.push((t.topic.clone(), vec![i])),
                }
            } else {
                exact.entry(t.topic.clone()).or_default().push(i);
            }
            if !t.command_topic.is_empty() {
                commands.insert(id, (t.command_topic.clone(), t.payload));
            }
            tags.push(Tag {
                id,
                decoder: Decoder::new(t),
                stale_after: (t.stale_after_ms > 0).then(|| Duration::from_millis(t.stale_after_ms)),
                last: None,
                stale: false,
            });
        }
        Self { tags, exact, wild, commands, store, metrics, warned: HashMap::new(), client: client.to_string() }
    }

    /// The distinct filters to subscribe to.
    pub fn filters(&self) -> Vec<String> {
        let mut f: Vec<String> = self.exact.keys().cloned().collect();
        f.sort();
        f.extend(self.wild.iter().map(|(w, _)| w.clone()));
        f
    }

    /// Every tag id.
    pub fn ids(&self) -> Vec<TagId> {
        self.tags.iter().map(|t| t.id).collect()
    }

    /// The command topic and payload format of a writable tag.
    pub fn command(&self, id: TagId) -> Option<&(String, PayloadFormat)> {
        self.commands.get(&id)
    }

    /// Sets the tags `msg` is for.
    pub fn message(&mut self, msg: &Message) {
        let mut idx: Vec<usize> = self.exact.get(&msg.topic).cloned().unwrap_or_default();
        for (f, v) in &self.wild {
            if rumqttc::matches(&msg.topic, f) {
                idx.extend(v.iter().copied());
            }
        }
        if idx.is_empty() {
            return;
        }
        let received = DateTime::now();
        let now = Instant::now();
        let (json, json_error) = if idx.iter().any(|&i| self.tags[i].decoder.format == PayloadFormat::Json) {
            match serde_json::from_slice::<Value>(&msg.payload) {
                Ok(v) => (Some(v), None),
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, None)
        };
        let mut values = Vec::with_capacity(idx.len());
        let mut bad = Vec::new();
        for i in idx {
            let tag = &mut self.tags[i];
            tag.last = Some(now);
            tag.stale = false;
            match tag.decoder.decode(&msg.payload, json.as_ref(), json_error.as_deref(), received) {
                Ok(v) => values.push((tag.id, v)),
                Err(e) => {
                    bad.push(tag.id);
                    self.metrics.decode_errors.inc();
                    let due = self.warned.get(&msg.topic).is_none_or(|t| t.elapsed() >= WARN_EVERY);
                    if due {
                        self.warned.insert(msg.topic.clone(), now);
                        tracing::warn!(mqtt = %self.client, topic = %msg.topic, error = %e, "payload does not decode: the tag is Bad_DecodingError (further errors on this topic are not logged for 10 s)");
                    }
                }
            }
        }
        if !values.is_empty() {
            self.store.update(values);
        }
        if !bad.is_empty() {
            self.store.set_status(&bad, StatusCode::BadDecodingError);
        }
    }

    /// Every broker is gone: the values turn Bad_NoCommunication.
    pub fn lost(&mut self) {
        self.store.set_status(&self.ids(), StatusCode::BadNoCommunication);
    }

    /// Values without a message for their `stale_after` turn Uncertain_LastUsableValue.
    pub fn check_stale(&mut self) {
        let mut stale = Vec::new();
        for t in &mut self.tags {
            if let (Some(after), Some(last)) = (t.stale_after, t.last) {
                if !t.stale && last.elapsed() >= after {
                    t.stale = true;
                    let good = self.store.with_value(t.id, |v: &TagValue| v.status.is_good()).unwrap_or(false);
                    if good {
                        stale.push(t.id);
                    }
                }
            }
        }
        if !stale.is_empty() {
            self.store.set_status(&stale, StatusCode::UncertainLastUsableValue);
        }
    }
}
