use super::*;
use fxgate_core::{AccessMode, TagDef, TagStoreBuilder};
use opcua::types::DataTypeId;

fn store() -> Arc<TagStore> {
    let mut b = TagStoreBuilder::new();
    for (src, name, t) in [("Demo", "Sine", DataTypeId::Double), ("Demo", "Count", DataTypeId::Int16), ("fxgate/Lines/x", "State", DataTypeId::String)] {
        b.add_tag(TagDef { source: src.into(), name: name.into(), data_type: t, access: AccessMode::ReadWrite, description: String::new(), meta: None }).unwrap();
    }
    b.build()
}

fn cfg() -> SparkplugConfig {
    SparkplugConfig { group_id: "G".into(), edge_node_id: "gw".into(), tags: vec!["**".into()], primary_host_id: "scada".into(), user: String::new(), interval_ms: 0, qos: Qos::AtMostOnce }
}

#[test]
fn births_name_every_metric_and_data_goes_by_alias() {
    let s = store();
    s.update(vec![(0, TagValue::good(1.5)), (1, TagValue::good(-3i16))]);
    let mut n = EdgeNode::new(&cfg(), s.clone()).unwrap();
    let b = n.births(7);
    let topics: Vec<&str> = b.iter().map(|m| m.topic.as_str()).collect();
    assert_eq!(topics, ["spBv1.0/G/NBIRTH/gw", "spBv1.0/G/DBIRTH/gw/Demo", "spBv1.0/G/DBIRTH/gw/fxgate_Lines_x"]);
    let nb = Payload::decode(&b[0].payload[..]).unwrap();
    assert_eq!(nb.metrics[0].value, Some(MetricValue::LongValue(7)));
    assert_eq!(nb.metrics[1].name.as_deref(), Some(REBIRTH));
    let db = Payload::decode(&b[1].payload[..]).unwrap();
    assert_eq!(db.metrics[1].name.as_deref(), Some("Count"));
    assert_eq!(db.metrics[1].datatype, Some(DataType::Int16 as u32));
    assert_eq!(db.metrics[1].value, Some(MetricValue::IntValue((-3i32) as u32)));
    assert_eq!(db.metrics[1].properties.as_ref().unwrap().keys, ["Quality"]);
    // A change: DDATA by alias, quality only when it changed.
    s.update(vec![(0, TagValue::good(2.5))]);
    n.collect(&s.snapshot()[..1]);
    let mut out = Vec::new();
    n.messages(Instant::now(), true, &mut out);
    assert_eq!(out.len(), 1);
    let d = Payload::decode(&stamp(&out[0].payload, 200)[..]).unwrap();
    assert_eq!(d.seq, Some(200));
    assert_eq!((d.metrics[0].alias, d.metrics[0].name.clone(), d.metrics[0].is_historical), (Some(1), None, Some(true)));
    assert!(d.metrics[0].properties.is_none());
}

#[test]
fn commands_and_state() {
    let n = EdgeNode::new(&cfg(), store()).unwrap();
    let rebirth = Payload { metrics: vec![Metric { name: Some(REBIRTH.into()), value: Some(MetricValue::BooleanValue(true)), ..Default::default() }], ..Default::default() };
    assert!(n.is_command("spBv1.0/G/NCMD/gw"));
    assert_eq!(n.command("spBv1.0/G/NCMD/gw", &rebirth.encode_to_vec()), Ok(Command::Rebirth));
    let w = Payload { metrics: vec![Metric { alias: Some(2), value: Some(MetricValue::IntValue((-5i32) as u32)), ..Default::default() }], ..Default::default() };
    assert!(n.is_command("spBv1.0/G/DCMD/gw/Demo"));
    assert_eq!(n.command("spBv1.0/G/DCMD/gw/Demo", &w.encode_to_vec()), Ok(Command::Write(vec![(1, Variant::Int16(-5))])));
    assert!(matches!(n.command("spBv1.0/G/DCMD/gw/Nope", &w.encode_to_vec()), Err(CommandError::NoDevice(_))));
    assert!(matches!(n.command("spBv1.0/G/DCMD/gw/Demo", b"\xff\xff"), Err(CommandError::Decode(_))));
    let big = Payload { metrics: vec![Metric { name: Some("Count".into()), value: Some(MetricValue::IntValue(70_000)), ..Default::default() }], ..Default::default() };
    assert!(matches!(n.command("spBv1.0/G/DCMD/gw/Demo", &big.encode_to_vec()), Err(CommandError::BadValue(_))));
    assert!(n.is_state("spBv1.0/STATE/scada"));
    assert_eq!(state_online(br#"{"online":true,"timestamp":1}"#), Some(true));
    assert_eq!(state_online(b"OFFLINE"), Some(false));
    assert_eq!(state_online(b"maybe"), None);
}

#[test]
fn signed_values_roundtrip() {
    for (v, t) in [(Variant::SByte(-1), DataTypeId::SByte), (Variant::Int16(-300), DataTypeId::Int16), (Variant::Int32(-7), DataTypeId::Int32), (Variant::Int64(-9), DataTypeId::Int64), (Variant::UInt64(u64::MAX), DataTypeId::UInt64)] {
        assert_eq!(to_variant(&metric_value(&v).unwrap(), t), Some(v));
    }
}

fn bad(status: StatusCode) -> TagValue {
    let mut v = TagValue::good(0.0);
    v.status = status;
    v
}

fn kinds(out: &[Message]) -> Vec<&str> {
    out.iter().map(|m| m.topic.as_str()).collect()
}

#[test]
fn a_lost_device_dies_and_is_born_again() {
    let s = store();
    s.update(vec![(0, TagValue::good(1.5)), (1, TagValue::good(-3i16))]);
    let mut n = EdgeNode::new(&cfg(), s.clone()).unwrap();
    n.births(0);
    let mut out = Vec::new();
    // One metric lost: data with its quality, the device lives on.
    s.update(vec![(0, bad(StatusCode::BadNoCommunication))]);
    n.collect(&s.snapshot()[..1]);
    n.messages(Instant::now(), false, &mut out);
    assert_eq!(kinds(&out), ["spBv1.0/G/DDATA/gw/Demo"]);
    // Both lost: the data, then DDEATH (no metrics).
    out.clear();
    s.update(vec![(1, bad(StatusCode::BadNoCommunication))]);
    n.collect(&s.snapshot()[1..2]);
    n.messages(Instant::now(), false, &mut out);
    assert_eq!(kinds(&out), ["spBv1.0/G/DDATA/gw/Demo", "spBv1.0/G/DDEATH/gw/Demo"]);
    assert!(Payload::decode(&out[1].payload[..]).unwrap().metrics.is_empty());
    // A rebirth of the node tells the death again after the DBIRTH.
    assert_eq!(kinds(&n.births(1))[1..], ["spBv1.0/G/DBIRTH/gw/Demo", "spBv1.0/G/DDEATH/gw/Demo", "spBv1.0/G/DBIRTH/gw/fxgate_Lines_x"]);
    // Back: a DBIRTH with every metric, current values and qualities, not DDATA.
    out.clear();
    s.update(vec![(0, TagValue::good(4.5))]);
    n.collect(&s.snapshot()[..1]);
    n.messages(Instant::now(), false, &mut out);
    assert_eq!(kinds(&out), ["spBv1.0/G/DBIRTH/gw/Demo"]);
    let b = Payload::decode(&out[0].payload[..]).unwrap();
    assert_eq!(b.metrics.len(), 2);
    assert_eq!(b.metrics[0].value, Some(MetricValue::DoubleValue(4.5)));
    let q = |m: &Metric| m.properties.as_ref().and_then(|p| p.values.first().cloned()).and_then(|v| v.value);
    assert_eq!(q(&b.metrics[0]), Some(PropertyValueKind::IntValue(0)));
    assert_eq!(q(&b.metrics[1]), Some(PropertyValueKind::IntValue(StatusCode::BadNoCommunication.bits())));
    // Kept for later (historical): data only, no births or deaths.
    out.clear();
    s.update(vec![(0, bad(StatusCode::BadNoCommunication))]);
    n.collect(&s.snapshot()[..1]);
    n.messages(Instant::now(), true, &mut out);
    assert_eq!(kinds(&out), ["spBv1.0/G/DDATA/gw/Demo"]);
}
