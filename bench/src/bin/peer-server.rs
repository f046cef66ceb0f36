//! `peer-server` — the baseline fxgate is compared against: async-opcua's own minimal server.
//!
//! One `simple_node_manager` namespace, a folder `Demo` under Objects holding `--tags` Double
//! variables (`ns=<i>;s=Demo/T<n>`, BrowseName `<i>:T<n>`, the same naming scheme as fxgate's
//! simulator) whose values are pushed every `--interval-ms` with `set_values`, which stores the new
//! value in the address space and notifies monitored items — exactly what the async-opcua
//! `simple-server` sample does. Anonymous only; endpoints None and Basic256Sha256 (Sign,
//! SignAndEncrypt) on `/`.
//!
//! Deliberately left at async-opcua defaults except the limits a 10,000-item benchmark needs
//! (see `main`), so the comparison is against "what you get out of the box".

use std::{
    f64::consts::TAU,
    path::PathBuf,
    time::{Duration, Instant},
};

use clap::Parser;
use opcua::{
    crypto::SecurityPolicy,
    server::{
        address_space::Variable,
        diagnostics::NamespaceMetadata,
        node_manager::memory::{simple_node_manager, SimpleNodeManager},
        ServerBuilder, ANONYMOUS_USER_TOKEN_ID,
    },
    types::{DataValue, DateTime, MessageSecurityMode, NodeId, QualifiedName},
};
use tokio::time::MissedTickBehavior;

const NAMESPACE_URI: &str = "urn:fxgate-bench:peer";

#[derive(Parser, Debug)]
#[command(
    name = "peer-server",
    about = "Minimal async-opcua server used as the fxgate benchmark baseline"
)]
struct Args {
    /// Listen address (loopback by default; this is a benchmark peer).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// OPC UA port.
    #[arg(long, default_value_t = 4855)]
    port: u16,
    /// Number of Double variables under Objects/Demo.
    #[arg(long, default_value_t = 10_000)]
    tags: usize,
    /// Update period of all variables, in milliseconds.
    #[arg(long, default_value_t = 100)]
    interval_ms: u64,
    /// Period of the sine waveform, in seconds.
    #[arg(long, default_value_t = 10.0)]
    period_s: f64,
    /// Server PKI directory (own certificate is generated if missing).
    #[arg(long)]
    pki_dir: Option<PathBuf>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let pki_dir = args.pki_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("fxgate-bench-peer-pki-{}", args.port))
    });
    let url = format!("opc.tcp://{}:{}/", args.host, args.port);
    let tokens: &[&str] = &[ANONYMOUS_USER_TOKEN_ID];

    let mut builder = ServerBuilder::new()
        .application_name("fxgate-bench peer")
        .application_uri("urn:fxgate-bench:peer-server")
        .product_uri("urn:fxgate-bench:peer-server")
        .host(args.host.clone())
        .port(args.port)
        .pki_dir(pki_dir)
        .create_sample_keypair(true)
        .trust_client_certs(true)
        .discovery_urls(vec![url.clone()])
        .add_endpoint(
            "none",
            ("/", SecurityPolicy::None, MessageSecurityMode::None, tokens),
        )
        .add_endpoint(
            "basic256sha256_sign",
            (
                "/",
                SecurityPolicy::Basic256Sha256,
                MessageSecurityMode::Sign,
                tokens,
            ),
        )
        .add_endpoint(
            "basic256sha256_sign_encrypt",
            (
                "/",
                SecurityPolicy::Basic256Sha256,
                MessageSecurityMode::SignAndEncrypt,
                tokens,
            ),
        )
        .default_endpoint("none")
        .with_node_manager(simple_node_manager(
            NamespaceMetadata {
                namespace_uri: NAMESPACE_URI.to_owned(),
                ..Default::default()
            },
            "peer",
        ));
    // The only departures from the defaults: one subscription must be able to hold all tags
    // (default 1,000 monitored items per subscription), and arrays/messages must be large enough
    // for a Read of 1,000 nodes and a browse of 10,000 references.
    {
        let limits = builder.limits_mut();
        limits.subscriptions.max_monitored_items_per_sub = args.tags.max(1000) * 2;
        limits.max_array_length = limits.max_array_length.max(args.tags.max(1000) * 2);
        limits.max_message_size = limits.max_message_size.max(16 * 1024 * 1024);
        limits.max_chunk_count = limits.max_chunk_count.max(512);
    }

    let (server, handle) = builder.build()?;
    let manager = handle
        .node_managers()
        .get_of_type::<SimpleNodeManager>()
        .ok_or("simple node manager missing")?;
    let ns = handle
        .get_namespace_index(NAMESPACE_URI)
        .ok_or("namespace not registered")?;
    let subscriptions = handle.subscriptions().clone();

    let folder = NodeId::new(ns, "Demo");
    let ids: Vec<NodeId> = (0..args.tags)
        .map(|i| NodeId::new(ns, format!("Demo/T{i}")))
        .collect();
    {
        let mut space = manager.address_space().write();
        space.add_folder(
            &folder,
            QualifiedName::new(ns, "Demo"),
            "Demo",
            &NodeId::objects_folder_id(),
        );
        let vars = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let name = format!("T{i}");
                Variable::new(
                    id,
                    QualifiedName::new(ns, name.as_str()),
                    name.as_str(),
                    0f64,
                )
            })
            .collect();
        space.add_variables(vars, &folder);
    }

    // Value producer: every tick, a new sine sample for every tag, pushed with set_values (this
    // updates the address space and notifies subscriptions in one call).
    {
        let token = handle.token().clone();
        let n = args.tags.max(1) as f64;
        let period = args.period_s.max(0.001);
        let interval = Duration::from_millis(args.interval_ms.max(1));
        tokio::spawn(async move {
            let start = Instant::now();
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = token.cancelled() => break,
                }
                let now = DateTime::now();
                let t = start.elapsed().as_secs_f64() / period;
                let values = ids.iter().enumerate().map(|(i, id)| {
                    let v = ((t + i as f64 / n) * TAU).sin();
                    (id, None, DataValue::new_at(v, now))
                });
                if let Err(e) = manager.set_values(&subscriptions, values) {
                    tracing::warn!("set_values failed: {e}");
                }
            }
        });
    }

    // Stop cleanly on SIGINT/SIGTERM (run.sh sends SIGTERM).
    {
        let handle = handle.clone();
        tokio::spawn(async move {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!("cannot install SIGTERM handler: {e}");
                        let _ = tokio::signal::ctrl_c().await;
                        handle.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            handle.cancel();
        });
    }

    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    eprintln!(
        "peer-server ready: {url} tags={} interval_ms={} ns={ns} pid={}",
        args.tags,
        args.interval_ms,
        std::process::id()
    );
    server.run_with(listener).await?;
    Ok(())
}
