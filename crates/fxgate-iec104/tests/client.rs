//! The controlling station against stations built on fxgate's own link layer (so every
//! frame they saw can be asserted): the parallel redundancy policy and the command outcomes.
//! The end-to-end tests against a real c104 station are in tests/python/test_iec104_client.py.

use std::sync::Arc;
use std::time::Duration;

use fxgate_core::{Component, ComponentContext, TagStore, TagStoreBuilder};
use fxgate_iec104::commands::{first_ioa, mirror, received};
use fxgate_iec104::config::LinkParams;
use fxgate_iec104::link::{Event, Link};
use fxgate_iec104::points::{encode, Outgoing};
use fxgate_iec104::quality::Quality;
use fxgate_iec104::{config::MonitorType, Iec104ClientLine};
use fxgate_lines::LineMetrics;
use iec104::asdu::Asdu;
use iec104::cot::Cot;
use iec104::types_id::TypeId;
use opcua::types::{DateTime, StatusCode, Variant};
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

fxgate_config::config_file! {
    /// The sections these tests configure.
    struct TestConfig {
        iec104_device: fxgate_iec104::Iec104Devices,
    }
}

/// What a station saw.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Connected,
    StartDt,
    Interrogation,
    ClockSync,
    Select(u32),
    Execute(u32),
}

/// A controlled station on 127.0.0.1: answers GI with `value` at IOA 1 (M_ME_NC), and
/// commands by IOA: 10 positive, 11 negative, 12 COT 47, 13 never.
struct Station {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl Station {
    async fn start(value: f32) -> Self {
        Self::start_at(0, value).await
    }

    /// A station on `port` (0: any free port).
    async fn start_at(port: u16, value: f32) -> Self {
        let l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((s, _)) = l.accept().await {
                log.lock().push(Seen::Connected);
                conns.spawn(serve(Link::new(s, LinkParams { t2: Duration::from_millis(100), ..LinkParams::default() }), value, log.clone()));
            }
        });
        Self { port, seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().clone()
    }
}

impl Drop for Station {
    fn drop(&mut self) {
        // Aborting the accept task drops the JoinSet, which aborts the connections: the
        // station is gone, as if killed.
        self.task.abort();
    }
}

fn reply(a: &Asdu, cot: Cot, negative: bool) -> Asdu {
    mirror(a, cot, negative)
}

async fn serve(mut link: Link<tokio::net::TcpStream>, value: f32, log: Arc<Mutex<Vec<Seen>>>) {
    loop {
        let a = match link.next().await {
            Err(_) => return,
            Ok(Event::StartDt) => {
                log.lock().push(Seen::StartDt);
                continue;
            }
            Ok(Event::Asdu(a)) => a,
            Ok(_) => continue,
        };
        let mut out = Vec::new();
        match a.type_id {
            TypeId::C_IC_NA_1 => {
                log.lock().push(Seen::Interrogation);
                out.push(reply(&a, Cot::ActivationConfirmation, false));
                let (type_id, objs) = encode(
                    MonitorType::Float,
                    false,
                    &[Outgoing { ioa: 1, value: Variant::Float(value), quality: Quality::default(), time: DateTime::now() }],
                );
                out.push(Asdu { type_id, cot: Cot::InterrogationGeneral, information_objects: objs, ..a.clone() });
                out.push(reply(&a, Cot::ActivationTermination, false));
            }
            TypeId::C_CS_NA_1 => {
                log.lock().push(Seen::ClockSync);
                out.push(reply(&a, Cot::ActivationConfirmation, false));
            }
            _ => {
                let Some(c) = received(&a.information_objects) else { continue };
                log.lock().push(if c.select { Seen::Select(c.ioa) } else { Seen::Execute(c.ioa) });
                match first_ioa(&a.information_objects) {
                    Some(10) => out.push(reply(&a, Cot::ActivationConfirmation, false)),
                    Some(11) => out.push(reply(&a, Cot::ActivationConfirmation, true)),
                    Some(12) => out.push(reply(&a, Cot::UnknownObjectAddress, true)),
                    _ => {}
                }
            }
        }
        for o in out {
            if link.send(o).is_err() {
                return;
            }
        }
    }
}

struct Gateway {
    store: Arc<TagStore>,
    shutdown: CancellationToken,
    task: JoinHandle<fxgate_core::ComponentResult>,
}

impl Gateway {
    async fn start(primary: u16, backup: Option<u16>, extra: &str) -> Self {
        let backup = backup.map(|p| format!("backup = {{ host = \"127.0.0.1\", port = {p} }}")).unwrap_or_default();
        let text = format!(
            r#"
[[line]]
name = "l"
host = "127.0.0.1"
port = {primary}
{backup}
reconnect_min_ms = 50
reconnect_max_ms = 200
[[iec104_device]]
name = "S"
line = "l"
t1_ms = 700
t2_ms = 100
t3_ms = 1000
{extra}
[[iec104_device.tag]]
name = "V"
ioa = 1
type = "M_ME_NC"
[[iec104_device.tag]]
name = "Ok"
command = "C_SE_NC"
command_ioa = 10
select_before_operate = true
[[iec104_device.tag]]
name = "No"
command = "C_SC"
command_ioa = 11
[[iec104_device.tag]]
name = "Unknown"
command = "C_SC"
command_ioa = 12
[[iec104_device.tag]]
name = "Silent"
command = "C_SC"
command_ioa = 13
"#
        );
        let c = fxgate_config::parse::<TestConfig>(&text, std::path::Path::new("t.toml"), std::path::Path::new(".")).unwrap();
        let comp = Box::new(Iec104ClientLine::new(c.line[0].clone(), c.iec104_device.0.clone(), ".".into(), LineMetrics::default()));
        let mut b = TagStoreBuilder::new();
        let declared = comp.declare(&mut b).unwrap();
        let store = b.build();
        let shutdown = CancellationToken::new();
        let cx = ComponentContext { store: store.clone(), tags: declared.tags, writes: declared.writes, shutdown: shutdown.clone(), data_dir: ".".into() };
        let running = comp.build(cx).await.unwrap();
        Self { store, shutdown, task: tokio::spawn(running.task) }
    }

    fn get(&self, path: &str) -> (Variant, StatusCode) {
        let v = self.store.get(self.store.id_of(path).unwrap()).unwrap();
        (v.value, v.status)
    }

    async fn write(&self, tag: &str, v: Variant) -> StatusCode {
        self.store.write(self.store.id_of(&format!("S/{tag}")).unwrap(), v).await
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let ended = tokio::time::timeout(Duration::from_secs(3), self.task).await;
        assert!(matches!(ended, Ok(Ok(Ok(())))), "the line must stop cleanly: {ended:?}");
    }
}

async fn until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + limit;
    while !f() {
        assert!(tokio::time::Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_standby_takes_over_without_the_values_going_bad() {
    let primary = Station::start(1.0).await;
    let backup = Station::start(2.0).await;
    let gw = Gateway::start(primary.port, Some(backup.port), "").await;
    until("the primary's value", Duration::from_secs(5), || gw.get("S/V") == (Variant::Float(1.0), StatusCode::Good)).await;
    until("the backup's connection", Duration::from_secs(5), || backup.seen().contains(&Seen::Connected)).await;
    assert_eq!(primary.seen()[..3], [Seen::Connected, Seen::StartDt, Seen::Interrogation]);
    assert!(primary.seen().contains(&Seen::ClockSync), "{:?}", primary.seen());
    assert_eq!(backup.seen(), vec![Seen::Connected], "the backup stands by: no STARTDT, no GI");
    let (active, _) = gw.get("fxgate/Lines/l/ActiveDevice");
    let active = format!("{active:?}");
    assert!(active.contains("(active)") && active.contains("(standby)"), "{active}");

    drop(primary);
    let lost = tokio::time::Instant::now();
    let watch = async {
        loop {
            let (v, s) = gw.get("S/V");
            assert_eq!(s, StatusCode::Good, "the value went {s} during the fail-over");
            if v == Variant::Float(2.0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(2), watch).await.expect("the backup's GI within 2 s");
    assert!(lost.elapsed() < Duration::from_secs(2));
    assert_eq!(backup.seen()[..3], [Seen::Connected, Seen::StartDt, Seen::Interrogation]);
    // Commands go to the new active station, select then execute.
    assert_eq!(gw.write("Ok", Variant::Float(0.5)).await, StatusCode::Good);
    assert!(backup.seen().ends_with(&[Seen::Select(10), Seen::Execute(10)]), "{:?}", backup.seen());
    assert_eq!(gw.get("S/Ok"), (Variant::Float(0.5), StatusCode::Good), "a command-only tag shows what was commanded");

    drop(backup);
    until("Bad_NoCommunication once both are gone", Duration::from_secs(3), || gw.get("S/V").1 == StatusCode::BadNoCommunication).await;
    assert_eq!(gw.get("S/V").0, Variant::Float(2.0), "the last value is kept");
    assert_eq!(gw.write("Ok", Variant::Float(0.5)).await, StatusCode::BadNoCommunication);
    gw.stop().await;
}

#[tokio::test]
async fn commands_answer_only_after_the_station() {
    let st = Station::start(1.0).await;
    let gw = Gateway::start(st.port, None, "clock_sync = false").await;
    until("data transfer", Duration::from_secs(5), || gw.get("S/V").1 == StatusCode::Good).await;
    assert!(!st.seen().contains(&Seen::ClockSync), "clock_sync = false");
    assert_eq!(gw.write("No", Variant::Boolean(true)).await, StatusCode::BadRequestNotAllowed, "negative ACT_CON");
    assert_eq!(gw.write("Unknown", Variant::Boolean(true)).await, StatusCode::BadNodeIdUnknown, "COT 47");
    assert_eq!(gw.write("Ok", Variant::Float(f32::NAN)).await, StatusCode::BadTypeMismatch, "a float set point that is not a number");
    let started = tokio::time::Instant::now();
    assert_eq!(gw.write("Silent", Variant::Boolean(true)).await, StatusCode::BadTimeout, "no ACT_CON within t1");
    assert!(started.elapsed() >= Duration::from_millis(650), "not before t1: {:?}", started.elapsed());
    assert_eq!(gw.write("Ok", Variant::Float(-0.25)).await, StatusCode::Good, "the line works on");
    let seen = st.seen();
    for s in [Seen::Execute(11), Seen::Execute(12), Seen::Execute(13), Seen::Select(10), Seen::Execute(10)] {
        assert!(seen.contains(&s), "{s:?} not in {seen:?}");
    }
    assert!(!seen.iter().any(|s| matches!(s, Seen::Select(11..=13))), "direct execute for tags without SBO: {seen:?}");
    gw.stop().await;
}

/// A port nothing listens on (yet).
fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn at_start_the_primary_is_preferred_to_a_backup_that_answered_first() {
    let backup = Station::start(2.0).await;
    let port = unused_port();
    let gw = Gateway::start(port, Some(backup.port), "").await;
    until("the backup's connection", Duration::from_secs(5), || backup.seen().contains(&Seen::Connected)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let primary = Station::start_at(port, 1.0).await;
    until("the primary's value", Duration::from_secs(5), || gw.get("S/V") == (Variant::Float(1.0), StatusCode::Good)).await;
    assert_eq!(primary.seen()[..3], [Seen::Connected, Seen::StartDt, Seen::Interrogation]);
    assert_eq!(backup.seen(), vec![Seen::Connected], "the backup that answered first stands by");
    gw.stop().await;
}

#[tokio::test]
async fn without_the_primary_the_backup_is_started_after_a_grace() {
    let backup = Station::start(2.0).await;
    let started = tokio::time::Instant::now();
    let gw = Gateway::start(unused_port(), Some(backup.port), "").await;
    until("the backup's value", Duration::from_secs(6), || gw.get("S/V") == (Variant::Float(2.0), StatusCode::Good)).await;
    assert!(started.elapsed() >= Duration::from_millis(1900), "the backup waited for the primary: {:?}", started.elapsed());
    assert_eq!(backup.seen()[..3], [Seen::Connected, Seen::StartDt, Seen::Interrogation]);
    let (active, _) = gw.get("fxgate/Lines/l/ActiveDevice");
    let active = format!("{active:?}");
    assert!(active.contains("(active)") && active.contains("primary: connecting"), "{active}");
    gw.stop().await;
}
