//! Tags to topics (`[[mqtt.publish]]`): the selected tags' changes as JSON, one message per
//! tag (`{"tag","v","q","st"}` on the tag's topic) or one batch per interval
//! (`{"seq","ts","values":[…]}`, the WebSocket client's shape).

use bytes::Bytes;
use fxgate_core::{TagId, TagStore, TagValue};
use fxgate_forward::message::{data_message, sample_json};
use fxgate_forward::{Collector, Encoding, Selection, TagFilter};
use opcua::types::DateTime;
use tokio::time::Instant;

use crate::config::{PublishConfig, PublishMode, Qos};
use crate::error::SetupError;
use crate::wire::Message;

/// One `[[mqtt.publish]]`.
pub struct Publisher {
    cfg: PublishConfig,
    template: TopicTemplate,
    qos: Qos,
    changes: Collector,
    seq: u64,
    due: Option<Instant>,
}

impl Publisher {
    /// The publisher of `cfg` over the tags of `store`.
    pub fn new(cfg: PublishConfig, qos: Qos, store: &TagStore) -> Result<Self, SetupError> {
        let filter = TagFilter::new(&cfg.tags)?;
        let selection = Selection::new(store, &filter);
        if selection.is_empty() {
            tracing::warn!(tags = ?cfg.tags, "MQTT publish: no tag matches");
        }
        let due = cfg.interval().map(|i| Instant::now() + i);
        Ok(Self { template: TopicTemplate::new(&cfg.topic), cfg, qos, changes: Collector::new(selection), seq: 0, due })
    }

    /// Takes the current value of every selected tag (at start, and after the change
    /// stream lagged).
    pub fn snapshot(&mut self, store: &TagStore) {
        self.changes.snapshot(store);
    }

    /// Takes a batch of changes from the store.
    pub fn collect(&mut self, batch: &[(TagId, TagValue)]) {
        self.changes.collect(batch);
    }

    /// When the next interval ends, if collecting per interval.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// The messages due now: without an interval whatever is pending, with one what the
    /// interval collected once it ended.
    pub fn messages(&mut self, now: Instant, out: &mut Vec<Message>) {
        if let Some(due) = self.due {
            if now < due {
                return;
            }
            let every = self.cfg.interval().unwrap_or_default();
            let mut next = due + every;
            if next <= now {
                next = now + every;
            }
            self.due = Some(next);
        }
        if self.changes.is_empty() {
            return;
        }
        let pending = self.changes.take();
        let selection = self.changes.selection();
        match self.cfg.mode {
            PublishMode::PerTag => {
                for (id, v) in &pending {
                    let Some(path) = selection.path(*id) else { continue };
                    let payload = sample_json(path, v);
                    out.push(Message { topic: self.template.topic(path), payload: Bytes::from(payload), qos: self.qos, retain: self.cfg.retain });
                }
            }
            PublishMode::Batch => {
                self.seq += 1;
                let payload = data_message(self.seq, &DateTime::now(), &pending, selection, Encoding::Json);
                out.push(Message { topic: self.cfg.topic.clone(), payload: Bytes::from(payload), qos: self.qos, retain: self.cfg.retain });
            }
        }
    }
}

/// A part of a topic template.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Path,
    Source,
    Name,
}

/// A topic template, split once: `{path}` is `<source>/<tag>`, `{source}` and `{name}` its
/// parts; a tag's topic is then one allocation, not one per placeholder.
#[derive(Debug, Clone)]
pub struct TopicTemplate(Vec<Part>);

impl TopicTemplate {
    /// Splits `template` at its placeholders.
    pub fn new(template: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            let next = [("{path}", Part::Path), ("{source}", Part::Source), ("{name}", Part::Name)]
                .into_iter()
                .filter_map(|(p, part)| rest.find(p).map(|at| (at, p.len(), part)))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, len, part)) => {
                    if at > 0 {
                        parts.push(Part::Text(rest[..at].to_string()));
                    }
                    parts.push(part);
                    rest = &rest[at + len..];
                }
                None => {
                    parts.push(Part::Text(rest.to_string()));
                    rest = "";
                }
            }
        }
        Self(parts)
    }

    /// The topic of the tag with browse path `path`.
    pub fn topic(&self, path: &str) -> String {
        let (source, name) = path.split_once('/').unwrap_or(("", path));
        let mut t = String::with_capacity(64);
        for p in &self.0 {
            t.push_str(match p {
                Part::Text(s) => s,
                Part::Path => path,
                Part::Source => source,
                Part::Name => name,
            });
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_templates() {
        let topic = |t: &str, p: &str| TopicTemplate::new(t).topic(p);
        assert_eq!(topic("fxgate/{path}", "Demo/Sine"), "fxgate/Demo/Sine");
        assert_eq!(topic("site/{source}/x/{name}", "Demo/Sine"), "site/Demo/x/Sine");
        assert_eq!(topic("fixed", "Demo/Sine"), "fixed");
        assert_eq!(topic("{name}{source}/{path}", "A/b/c"), "b/cA/A/b/c");
        assert_eq!(topic("a/{unknown}/{name}", "S/T"), "a/{unknown}/T");
    }
}
