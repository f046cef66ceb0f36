//! One `[[pubsub]]` connection as a component: a source for its readers' tags and a sink for
//! its writers' tags, with its status folder.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use opcua::types::Variant;

use fxgate_core::kit::status::StatusFolder;
use fxgate_core::tag_type::data_type_id;
use fxgate_core::{
    AccessMode, BuildError, Component, ComponentContext, Declared, RunningComponent, StoreError, TagDef, TagStoreBuilder, Unhealthy,
};

use crate::config::{publisher_id, PubSubConfig};
use crate::control::Controls;
use crate::reader::Reader;
use crate::receive::Receiver;
use crate::status::{folder, reader_folder, refresh, ConnState, Counters};
use crate::udp::{parse_udp_url, receiver, sender, UrlError};
use crate::writer::{derived_version, Writer, WriterGroup};

/// Why a connection could not start.
#[derive(Debug, thiserror::Error)]
pub enum PubSubBuildError {
    /// An address did not resolve.
    #[error("pubsub `{connection}`: {field} `{url}`: {source}")]
    Address {
        /// The connection.
        connection: String,
        /// The field.
        field: &'static str,
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: UrlError,
    },
    /// A published tag is not in the store.
    #[error("pubsub `{connection}`: writer `{writer}`: no tag `{path}`")]
    NoTag {
        /// The connection.
        connection: String,
        /// The writer.
        writer: String,
        /// The tag path.
        path: String,
    },
    /// A sending socket could not be made.
    #[error("pubsub `{connection}`: no socket to send to {to}: {source}")]
    Socket {
        /// The connection.
        connection: String,
        /// The destination.
        to: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// A `[[pubsub]]` connection.
pub struct PubSubConnection {
    config: PubSubConfig,
    counters: Counters,
    folder: StatusFolder,
    reader_folders: Vec<StatusFolder>,
    controls: Arc<Controls>,
    /// The runtime of OPC UA FX, on the connection marked `fx = true`.
    pub fx: Option<Arc<crate::fx::FxRuntime>>,
}

impl PubSubConnection {
    /// The connection of `config`, counting into `counters`, switched by `controls`.
    pub fn new(config: PubSubConfig, counters: Counters, controls: Arc<Controls>) -> Self {
        let folder = folder(&config.name);
        let reader_folders = config.reader.iter().map(|r| reader_folder(&config.name, &r.name)).collect();
        Self { config, counters, folder, reader_folders, controls, fx: None }
    }
}

impl Component for PubSubConnection {
    fn kind(&self) -> &'static str {
        "pubsub"
    }

    fn name(&self) -> String {
        self.config.name.clone()
    }

    fn declare(&self, b: &mut TagStoreBuilder) -> Result<Declared, StoreError> {
        let mut tags = Vec::new();
        for r in &self.config.reader {
            for f in &r.fields {
                tags.push(b.add_tag(TagDef {
                    source: r.name.as_str().into(),
                    name: f.name.clone(),
                    data_type: data_type_id(f.data_type),
                    access: AccessMode::Read,
                    description: f.description.clone(),
                    meta: None,
                })?);
            }
        }
        tags.extend(self.folder.declare(b)?);
        for f in &self.reader_folders {
            tags.extend(f.declare(b)?);
        }
        Ok(Declared { tags, writes: None })
    }

    fn build(self: Box<Self>, cx: ComponentContext) -> BoxFuture<'static, Result<RunningComponent, BuildError>> {
        Box::pin(async move {
            let Self { config, counters, folder, reader_folders, controls, fx } = *self;
            let name = config.name.clone();
            let addr_err = |field: &'static str, url: &str, source| {
                BuildError::protocol(PubSubBuildError::Address { connection: name.clone(), field, url: url.to_string(), source })
            };
            let interface = config.interface.as_deref().and_then(|a| a.parse::<Ipv4Addr>().ok());
            // The declared ids: the readers' fields in order, then the status folder's.
            let mut ids = cx.tags.iter().copied();
            let mut readers = Vec::new();
            for r in &config.reader {
                let fields = r.fields.iter().map(|f| (ids.next().unwrap_or_default(), f.data_type)).collect();
                let Some(p) = publisher_id(&r.publisher_id, r.publisher_id_type) else { continue };
                let mut reader = Reader::new(r.name.clone(), (p, r.writer_group_id, r.data_set_writer_id), Duration::from_millis(r.message_receive_timeout_ms), fields);
                reader.group_version = r.group_version;
                reader.publisher_address = r.publisher_address.as_deref().and_then(|a| a.parse().ok());
                readers.push(reader);
            }
            let folder_ids: Vec<_> = ids.by_ref().take(crate::status::FIELDS.len()).collect();
            folder.attach(cx.store.clone(), &folder_ids);
            for f in &reader_folders {
                let fids: Vec<_> = ids.by_ref().take(crate::status::READER_FIELDS.len()).collect();
                f.attach(cx.store.clone(), &fids);
            }

            let mut groups = Vec::new();
            for g in &config.writer_group {
                let to = parse_udp_url(&g.destination).and_then(|u| crate::udp::resolve(&u)).map_err(|e| addr_err("destination", &g.destination, e))?;
                let mut writers = Vec::new();
                for w in &g.writer {
                    let mut tags = Vec::new();
                    for path in &w.tags {
                        let id = cx.store.id_of(path).ok_or_else(|| {
                            BuildError::protocol(PubSubBuildError::NoTag { connection: name.clone(), writer: w.name.clone(), path: path.clone() })
                        })?;
                        let t = cx.store.def(id).map(|d| d.data_type).unwrap_or(opcua::types::DataTypeId::BaseDataType);
                        tags.push((id, t));
                    }
                    writers.push(Writer::new(w.name.clone(), w.data_set_writer_id, w.encoding, tags));
                }
                let socket = sender(to, interface, config.multicast_ttl)
                    .map_err(|source| BuildError::protocol(PubSubBuildError::Socket { connection: name.clone(), to: g.destination.clone(), source }))?;
                let Some(p) = config.publisher_id.as_ref().and_then(|p| publisher_id(p, config.publisher_id_type)) else { continue };
                let group = WriterGroup {
                    switch: (controls.clone(), format!("{name}/{}", g.name)),
                    group_version: g.group_version.unwrap_or_else(|| derived_version(g)),
                    config: g.clone(),
                    publisher_id: p,
                    destination: to,
                    writers,
                };
                groups.push((group, socket));
            }

            // The FX connection receives whatever readers FX adds later.
            let socket = match (&config.listen, readers.is_empty() && fx.is_none()) {
                (Some(url), false) => {
                    let at = parse_udp_url(url).and_then(|u| crate::udp::resolve(&u)).map_err(|e| addr_err("listen", url, e))?;
                    Some(receiver(at, interface).map_err(|source| BuildError::Listen { address: format!("{url} (pubsub[{name}].listen)"), source })?)
                }
                _ => None,
            };
            tracing::info!(
                connection = %name,
                "PubSub connection: {} writer group(s), {} reader(s){}",
                groups.len(), readers.len(),
                config.listen.as_deref().filter(|_| socket.is_some()).map(|l| format!(", receiving on {l}")).unwrap_or_default()
            );

            let shutdown = cx.shutdown.clone();
            let (commands, board) = match &fx {
                Some(rt) => {
                    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                    rt.attach(crate::fx::Attached {
                        store: cx.store.clone(),
                        counters: counters.clone(),
                        shutdown: shutdown.clone(),
                        readers: tx,
                        interface,
                        ttl: config.multicast_ttl,
                    });
                    (Some(rx), Some(rt.board()))
                }
                None => (None, None),
            };
            let mut tasks = tokio::task::JoinSet::new();
            for (g, s) in groups {
                tasks.spawn(g.run(s, cx.store.clone(), counters.clone(), shutdown.clone()));
            }
            match socket {
                Some(socket) => {
                    let rx = Receiver {
                        name: name.clone(),
                        socket,
                        readers,
                        store: cx.store.clone(),
                        counters: counters.clone(),
                        folder: folder.clone(),
                        reader_folders,
                        controls: controls.clone(),
                        commands,
                        board,
                    };
                    tasks.spawn(rx.run(shutdown.clone()));
                }
                None => {
                    // Writers only: the folder's counters still move.
                    let (f, c, s, sw, conn) = (folder.clone(), counters.clone(), shutdown.clone(), controls.clone(), name.clone());
                    tasks.spawn(async move {
                        let mut flips = sw.watch();
                        let mut tick = tokio::time::interval(Duration::from_secs(1));
                        loop {
                            let state = if sw.own(&conn) == Some(false) { ConnState::Disabled } else { ConnState::Operational };
                            refresh(&f, state, 0, &c);
                            tokio::select! {
                                _ = s.cancelled() => return,
                                _ = tick.tick() => {}
                                Ok(()) = flips.changed() => {}
                            }
                        }
                    });
                }
            }
            let health = folder.health(|v| match v.first() {
                Some(Variant::String(s)) if s.as_ref() == ConnState::Error.as_str() => {
                    Err(Unhealthy(format!("a reader has no messages ({} in Error)", v.get(1).map(|n| format!("{n:?}")).unwrap_or_default())))
                }
                _ => Ok(()),
            });
            let task = Box::pin(async move {
                while let Some(r) = tasks.join_next().await {
                    r?;
                }
                Ok(())
            });
            Ok(RunningComponent { task, health })
        })
    }
}
