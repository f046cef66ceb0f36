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
