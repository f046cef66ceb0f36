//! Unit tests of the DA item properties: the property table, one test per Table A.31 row
//! (OPC 10000-8), the A.4.2 rules and property tests over arbitrary Variables.

// The items the tests reach besides the module's public API (`use super::*`).
use opcua::types::{DataTypeId, DataValue, DateTime, NodeId, QualifiedName, StatusCode, Variant};

use super::*;
use crate::errors::Hresult;
use crate::quality;
use crate::quality::DaQuality;
use crate::types::{self, DaValue, VarType};
use opcua::types::UAString;
use proptest::prelude::*;

fn ids(props: &[DaProperty]) -> Vec<u32> {
    props.iter().map(|p| p.id).collect()
}

fn value_of(info: &UaVariableInfo, id: u32) -> DaValue {
    match property(info, id) {
        Ok(p) => p.value,
        Err(e) => panic!("property {id} missing: {e:?}"),
    }
}

fn double_info() -> UaVariableInfo {
    UaVariableInfo {
        data_type: DataTypeId::Double.into(),
        access_level: 0x03,
        user_access_level: 0x01,
        display_name: Some("FL102".into()),
        ..Default::default()
    }
}

/// Whether `value` fits the canonical type of row `id` (arrays: every element has the
/// element type).
fn fits(id: u32, canonical: VarType, value: &DaValue) -> bool {
    if canonical == VarType::VT_VARIANT {
        return true;
    }
    if id == EU_INFO && *value == DaValue::Empty {
        return true;
    }
    match value {
        DaValue::Array(element, items) => {
            canonical.is_array()
                && *element == canonical.element()
                && items.iter().all(|i| i.var_type() == *element)
        }
        other => other.var_type() == canonical,
    }
}

// --- the table ---

#[test]
fn table_is_strictly_increasing_and_matches_ids() {
    assert!(PROPERTIES.windows(2).all(|w| w[0].0 < w[1].0));
    let expected = [
        1, 2, 3, 4, 5, 6, 7, 8, 100, 101, 102, 103, 104, 105, 106, 107, 108, 610, 611, 612,
        613, 614,
    ];
    assert_eq!(PROPERTIES.map(|r| r.0), expected);
}

#[test]
fn table_a31_data_types() {
    // Table A.31, "OPC UA DataType" column → the VARIANT of the DA property.
    let a31 = [
        (ACCESS_RIGHTS, VarType::VT_I4), // Int32
        (EU_UNITS, VarType::VT_BSTR),    // String
        (DESCRIPTION, VarType::VT_BSTR), // String
        (HIGH_EU, VarType::VT_R8),       // Double
        (LOW_EU, VarType::VT_R8),
        (HIGH_IR, VarType::VT_R8),
        (LOW_IR, VarType::VT_R8),
        (CLOSE_LABEL, VarType::VT_BSTR),
        (OPEN_LABEL, VarType::VT_BSTR),
    ];
    for (id, vt) in a31 {
        let row = PROPERTIES.iter().find(|r| r.0 == id).map(|r| r.2);
        assert_eq!(row, Some(vt), "property {id}");
    }
}

// --- one test per Table A.31 row ---

#[test]
fn a31_access_rights_from_access_level() {
    let info = double_info();
    let p = property(&info, ACCESS_RIGHTS).expect("5");
    assert_eq!(p.name, "Item Access Rights");
    assert_eq!(p.var_type, VarType::VT_I4);
    // AccessLevel 0x03, not UserAccessLevel 0x01.
    assert_eq!(p.value, DaValue::I4(OPC_READABLE | OPC_WRITEABLE));
}

#[test]
fn a31_eu_units_from_engineering_units() {
    let mut info = double_info();
    assert_eq!(property(&info, EU_UNITS), Err(Hresult::OPC_E_INVALID_PID));
    info.engineering_units = Some("°C".into());
    let p = property(&info, EU_UNITS).expect("100");
    assert_eq!((p.name, p.var_type), ("EU Units", VarType::VT_BSTR));
    assert_eq!(p.value, DaValue::Bstr("°C".into()));
}

#[test]
fn a31_item_description_from_display_name_per_a42() {
    let mut info = double_info();
    info.description = Some("Flow at inlet".into());
    let p = property(&info, DESCRIPTION).expect("101");
    assert_eq!((p.name, p.var_type), ("Item Description", VarType::VT_BSTR));
    assert_eq!(p.value, DaValue::Bstr("FL102".into()));
    // The Description attribute is UA Description (614).
    assert_eq!(
        value_of(&info, UA_DESCRIPTION),
        DaValue::Bstr("Flow at inlet".into())
    );
    info.display_name = None;
    assert_eq!(
        property(&info, DESCRIPTION),
        Err(Hresult::OPC_E_INVALID_PID)
    );
}

#[test]
fn a31_high_eu_from_eu_range() {
    let mut info = double_info();
    assert_eq!(property(&info, HIGH_EU), Err(Hresult::OPC_E_INVALID_PID));
    info.eu_range = Some((-10.0, 250.5));
    let p = property(&info, HIGH_EU).expect("102");
    assert_eq!((p.name, p.var_type), ("High EU", VarType::VT_R8));
    assert_eq!(p.value, DaValue::R8(250.5));
}

#[test]
fn a31_low_eu_from_eu_range() {
    let mut info = double_info();
    assert_eq!(property(&info, LOW_EU), Err(Hresult::OPC_E_INVALID_PID));
    info.eu_range = Some((-10.0, 250.5));
    let p = property(&info, LOW_EU).expect("103");
    assert_eq!((p.name, p.var_type), ("Low EU", VarType::VT_R8));
    assert_eq!(p.value, DaValue::R8(-10.0));
}

#[test]
fn a31_high_instrument_range_from_instrument_range() {
    let mut info = double_info();
    assert_eq!(property(&info, HIGH_IR), Err(Hresult::OPC_E_INVALID_PID));
    info.instrument_range = Some((0.0, 400.0));
    let p = property(&info, HIGH_IR).expect("104");
    assert_eq!(
        (p.name, p.var_type),
        ("High Instrument Range", VarType::VT_R8)
    );
    assert_eq!(p.value, DaValue::R8(400.0));
}

#[test]
fn a31_low_instrument_range_from_instrument_range() {
    let mut info = double_info();
    assert_eq!(property(&info, LOW_IR), Err(Hresult::OPC_E_INVALID_PID));
    info.instrument_range = Some((0.0, 400.0));
    let p = property(&info, LOW_IR).expect("105");
    assert_eq!(
        (p.name, p.var_type),
        ("Low Instrument Range", VarType::VT_R8)
    );
    assert_eq!(p.value, DaValue::R8(0.0));
}

#[test]
fn a31_close_label_from_true_state() {
    let mut info = double_info();
    assert_eq!(
        property(&info, CLOSE_LABEL),
        Err(Hresult::OPC_E_INVALID_PID)
    );
    info.true_state = Some("Closed".into());
    info.false_state = Some("Open".into());
    let p = property(&info, CLOSE_LABEL).expect("106");
    assert_eq!(
        (p.name, p.var_type),
        ("Contact Close Label", VarType::VT_BSTR)
    );
    assert_eq!(p.value, DaValue::Bstr("Closed".into()));
}

#[test]
fn a31_open_label_from_false_state() {
    let mut info = double_info();
    assert_eq!(property(&info, OPEN_LABEL), Err(Hresult::OPC_E_INVALID_PID));
    info.true_state = Some("Closed".into());
    info.false_state = Some("Open".into());
    let p = property(&info, OPEN_LABEL).expect("107");
    assert_eq!(
        (p.name, p.var_type),
        ("Contact Open Label", VarType::VT_BSTR)
    );
    assert_eq!(p.value, DaValue::Bstr("Open".into()));
}

// --- EU type and info ---

#[test]
fn eu_type_analog_with_eu_range() {
    let mut info = double_info();
    info.eu_range = Some((0.0, 100.0));
    assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_ANALOG));
    assert_eq!(value_of(&info, EU_INFO), DaValue::Empty);
}

#[test]
fn eu_type_enumerated_with_enum_strings() {
    let mut info = double_info();
    info.data_type = DataTypeId::UInt32.into();
    info.enum_strings = Some(vec!["Off".into(), "On".into(), "Fault".into()]);
    assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_ENUMERATED));
    let p = property(&info, EU_INFO).expect("8");
    assert_eq!(p.var_type, VarType::array_of(VarType::VT_BSTR));
    assert_eq!(
        p.value,
        DaValue::Array(
            VarType::VT_BSTR,
            vec![
                DaValue::Bstr("Off".into()),
                DaValue::Bstr("On".into()),
                DaValue::Bstr("Fault".into())
            ]
        )
    );
    // Both EURange and EnumStrings: Enumerated.
    info.eu_range = Some((0.0, 2.0));
    assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_ENUMERATED));
}

#[test]
fn eu_type_none_without_eu_properties() {
    let info = double_info();
    assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_NOENUM));
    assert_eq!(value_of(&info, EU_INFO), DaValue::Empty);
    // Instrument range and units alone do not make an item Analog.
    let mut info = info;
    info.instrument_range = Some((0.0, 1.0));
    info.engineering_units = Some("m".into());
    assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_NOENUM));
}

// --- access rights ---

#[test]
fn access_rights_combinations() {
    assert_eq!(access_rights(0x00), 0);
    assert_eq!(access_rights(0x01), OPC_READABLE);
    assert_eq!(access_rights(0x02), OPC_WRITEABLE);
    assert_eq!(access_rights(0x03), OPC_READABLE | OPC_WRITEABLE);
    // HistoryRead (0x04), HistoryWrite (0x08), SemanticChange (0x10), StatusWrite
    // (0x20), TimestampWrite (0x40) are ignored.
    assert_eq!(access_rights(0x7C), 0);
    assert_eq!(access_rights(0xFD), OPC_READABLE);
    assert_eq!(access_rights(0xFF), OPC_READABLE | OPC_WRITEABLE);
}

#[test]
fn access_rights_property_uses_access_level_not_user_access_level() {
    let mut info = double_info();
    info.access_level = 0x01;
    info.user_access_level = 0x03;
    assert_eq!(value_of(&info, ACCESS_RIGHTS), DaValue::I4(OPC_READABLE));
    info.access_level = 0x02;
    info.user_access_level = 0x00;
    assert_eq!(value_of(&info, ACCESS_RIGHTS), DaValue::I4(OPC_WRITEABLE));
    assert_eq!(access_rights(info.user_access_level), 0);
}

// --- scan rate ---

#[test]
fn scan_rate_from_minimum_sampling_interval() {
    let mut info = double_info();
    info.minimum_sampling_interval = Some(250.0);
    let p = property(&info, SCAN_RATE).expect("6");
    assert_eq!((p.name, p.var_type), ("Server Scan Rate", VarType::VT_R4));
    assert_eq!(p.value, DaValue::R4(250.0));
    info.minimum_sampling_interval = Some(0.0);
    assert_eq!(value_of(&info, SCAN_RATE), DaValue::R4(0.0));
    info.minimum_sampling_interval = None;
    assert_eq!(
        value_of(&info, SCAN_RATE),
        DaValue::R4(SCAN_RATE_INDETERMINATE)
    );
}

// --- canonical type, value, quality, timestamp ---

#[test]
fn canonical_data_type_through_types_module() {
    let mut info = double_info();
    let p = property(&info, DATATYPE).expect("1");
    assert_eq!(
        (p.name, p.var_type),
        ("Item Canonical DataType", VarType::VT_I2)
    );
    assert_eq!(p.value, DaValue::I2(VarType::VT_R8.0 as i16));
    info.value_rank = 1;
    let array = types::ua_to_da_type(&info.data_type, 1);
    assert_eq!(value_of(&info, DATATYPE), DaValue::I2(array.0 as i16));
    assert_eq!(array, VarType::array_of(VarType::VT_R8));
}

#[test]
fn value_quality_timestamp_from_data_value() {
    let mut info = double_info();
    // Nothing read yet: no 2, 3, 4.
    for id in [VALUE, QUALITY, TIMESTAMP] {
        assert_eq!(property(&info, id), Err(Hresult::OPC_E_INVALID_PID));
    }
    let source = DateTime::ymd_hms(2024, 3, 1, 12, 0, 0);
    let server = DateTime::ymd_hms(2024, 3, 1, 12, 0, 5);
    info.value = Some(DataValue {
        value: Some(Variant::Double(42.5)),
        status: Some(StatusCode::UncertainEngineeringUnitsExceeded),
        source_timestamp: Some(source),
        server_timestamp: Some(server),
        ..Default::default()
    });
    assert_eq!(value_of(&info, VALUE), DaValue::R8(42.5));
    let q = quality::ua_to_da(StatusCode::UncertainEngineeringUnitsExceeded);
    assert_eq!(q.quality_status(), DaQuality::EGU_EXCEEDED);
    assert_eq!(value_of(&info, QUALITY), DaValue::I2(q.0 as i16));
    let ts = property(&info, TIMESTAMP).expect("4");
    assert_eq!((ts.name, ts.var_type), ("Item Timestamp", VarType::VT_DATE));
    assert_eq!(ts.value, DaValue::Date(types::ole_date_from_ua(&source)));
}

#[test]
fn timestamp_falls_back_to_server_timestamp_and_status_defaults_to_good() {
    let mut info = double_info();
    let server = DateTime::ymd_hms(2024, 3, 1, 12, 0, 5);
    info.value = Some(DataValue {
        value: Some(Variant::String(UAString::from("x"))),
        status: None,
        source_timestamp: None,
        server_timestamp: Some(server),
        ..Default::default()
    });
    assert_eq!(value_of(&info, VALUE), DaValue::Bstr("x".into()));
    assert_eq!(
        value_of(&info, QUALITY),
        DaValue::I2(DaQuality::GOOD.0 as i16)
    );
    assert_eq!(
        value_of(&info, TIMESTAMP),
        DaValue::Date(types::ole_date_from_ua(&server))
    );
    // No timestamp at all: no 4, but 2 and 3 stay.
    if let Some(dv) = info.value.as_mut() {
        dv.server_timestamp = None;
    }
    assert_eq!(property(&info, TIMESTAMP), Err(Hresult::OPC_E_INVALID_PID));
    assert!(property(&info, VALUE).is_ok());
    assert!(property(&info, QUALITY).is_ok());
}

#[test]
fn bad_quality_maps_through_quality_module() {
    let mut info = double_info();
    info.value = Some(DataValue {
        value: None,
        status: Some(StatusCode::BadNotConnected),
        ..Default::default()
    });
    assert_eq!(value_of(&info, VALUE), DaValue::Empty);
    assert_eq!(
        value_of(&info, QUALITY),
        DaValue::I2(DaQuality::NOT_CONNECTED.0 as i16)
    );
}

#[test]
fn timestamp_outside_ua_range_is_clamped() {
    let mut info = double_info();
    for (ticks, expected) in [
        (i64::MIN, DateTime::from(0)),
        (-1, DateTime::from(0)),
        (i64::MAX - 1, DateTime::endtimes()),
    ] {
        info.value = Some(DataValue {
            value: Some(Variant::Double(0.0)),
            source_timestamp: Some(DateTime::from(ticks)),
            ..Default::default()
        });
        assert_eq!(
            value_of(&info, TIMESTAMP),
            DaValue::Date(types::ole_date_from_ua(&expected)),
            "{ticks}"
        );
    }
}

// --- 108 and 610–614 ---

#[test]
fn timezone_only_with_time_zone() {
    let mut info = double_info();
    assert_eq!(property(&info, TIMEZONE), Err(Hresult::OPC_E_INVALID_PID));
    info.time_zone = Some(-300);
    let p = property(&info, TIMEZONE).expect("108");
    assert_eq!((p.name, p.var_type), ("Item Timezone", VarType::VT_I4));
    assert_eq!(p.value, DaValue::I4(-300));
}

#[test]
fn ua_properties_610_to_614() {
    let mut info = double_info();
    info.value_rank = 1;
    info.browse_name = Some(QualifiedName::new(2, "FL102"));
    assert_eq!(value_of(&info, UA_BUILTIN_TYPE), DaValue::I4(11)); // Double
    assert_eq!(
        value_of(&info, UA_DATA_TYPE_ID),
        DaValue::Bstr("i-11".into())
    );
    assert_eq!(value_of(&info, UA_VALUE_RANK), DaValue::I4(1));
    assert_eq!(
        value_of(&info, UA_BROWSE_NAME),
        DaValue::Bstr("2:FL102".into())
    );
    assert_eq!(
        property(&info, UA_DESCRIPTION),
        Err(Hresult::OPC_E_INVALID_PID)
    );

    // A ns=0 subtype resolves to its built-in type: UtcTime → DateTime (13).
    info.data_type = DataTypeId::UtcTime.into();
    assert_eq!(value_of(&info, UA_BUILTIN_TYPE), DaValue::I4(13));
    // A structure or a DataType of another namespace: no 610; 611 is its ItemID.
    info.data_type = DataTypeId::Range.into();
    assert_eq!(
        property(&info, UA_BUILTIN_TYPE),
        Err(Hresult::OPC_E_INVALID_PID)
    );
    info.data_type = NodeId::new(4, "MyType");
    assert_eq!(
        property(&info, UA_BUILTIN_TYPE),
        Err(Hresult::OPC_E_INVALID_PID)
    );
    assert_eq!(
        value_of(&info, UA_DATA_TYPE_ID),
        DaValue::Bstr("ns-4;s-MyType".into())
    );
}

// --- available_properties and OPC_E_INVALID_PID ---

#[test]
fn minimal_variable_has_the_always_present_properties() {
    let info = UaVariableInfo::default();
    assert_eq!(
        ids(&available_properties(&info)),
        vec![1, 5, 6, 7, 8, 610, 611, 612]
    );
}

#[test]
fn full_variable_has_every_property_in_id_order() {
    let info = UaVariableInfo {
        data_type: DataTypeId::Double.into(),
        value_rank: -1,
        array_dimensions: None,
        access_level: 0x03,
        user_access_level: 0x03,
        minimum_sampling_interval: Some(100.0),
        display_name: Some("FL102".into()),
        browse_name: Some(QualifiedName::new(2, "FL102")),
        description: Some("Flow".into()),
        value: Some(DataValue {
            value: Some(Variant::Double(1.0)),
            status: Some(StatusCode::Good),
            source_timestamp: Some(DateTime::ymd_hms(2024, 1, 1, 0, 0, 0)),
            ..Default::default()
        }),
        eu_range: Some((0.0, 10.0)),
        instrument_range: Some((-1.0, 11.0)),
        engineering_units: Some("m³/h".into()),
        true_state: Some("Closed".into()),
        false_state: Some("Open".into()),
        enum_strings: None,
        time_zone: Some(60),
    };
    let props = available_properties(&info);
    assert_eq!(ids(&props), PROPERTIES.map(|r| r.0).to_vec());
    for (p, row) in props.iter().zip(PROPERTIES.iter()) {
        assert_eq!((p.id, p.name, p.var_type), *row);
        assert!(fits(p.id, p.var_type, &p.value), "{p:?}");
    }
    assert_eq!(value_of(&info, EU_TYPE), DaValue::I4(OPC_ANALOG));
}

#[test]
fn invalid_pid() {
    let info = double_info();
    for id in [0, 9, 99, 109, 300, 600, 609, 615, 5000, u32::MAX] {
        assert_eq!(property(&info, id), Err(Hresult::OPC_E_INVALID_PID), "{id}");
    }
}

#[test]
fn property_agrees_with_available_properties() {
    let mut info = double_info();
    info.eu_range = Some((0.0, 1.0));
    let props = available_properties(&info);
    for (id, _, _) in PROPERTIES {
        let listed = props.iter().find(|p| p.id == id).cloned();
        assert_eq!(property(&info, id).ok(), listed, "{id}");
    }
}

// --- proptest ---

fn arb_string() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn arb_node_id() -> impl Strategy<Value = NodeId> {
    prop_oneof![
        (0u32..1000).prop_map(|i| NodeId::new(0, i)),
        (any::<u16>(), any::<u32>()).prop_map(|(ns, i)| NodeId::new(ns, i)),
        (any::<u16>(), arb_string()).prop_map(|(ns, s)| NodeId::new(ns, s)),
    ]
}

fn arb_variant() -> impl Strategy<Value = Variant> {
    prop_oneof![
        Just(Variant::Empty),
        any::<bool>().prop_map(Variant::Boolean),
        any::<i32>().prop_map(Variant::Int32),
        any::<u64>().prop_map(Variant::UInt64),
        any::<f64>().prop_map(Variant::Double),
        arb_string().prop_map(|s| Variant::String(UAString::from(s))),
        // Values within the UA DateTime range: `types::ole_date_from_ua` overflows for
        // tick counts near i64::MIN (see `timestamp_outside_ua_range_is_clamped`).
        (0..=DateTime::endtimes_ticks())
            .prop_map(|t| Variant::DateTime(Box::new(DateTime::from(t)))),
        proptest::collection::vec(any::<f32>(), 0..5).prop_map(Variant::from),
    ]
}

fn arb_data_value() -> impl Strategy<Value = DataValue> {
    (
        proptest::option::of(arb_variant()),
        proptest::option::of(any::<u32>().prop_map(StatusCode::from)),
        proptest::option::of(any::<i64>().prop_map(DateTime::from)),
        proptest::option::of(any::<i64>().prop_map(DateTime::from)),
    )
        .prop_map(|(value, status, source, server)| DataValue {
            value,
            status,
            source_timestamp: source,
            server_timestamp: server,
            ..Default::default()
        })
}

fn arb_range() -> impl Strategy<Value = Option<(f64, f64)>> {
    proptest::option::of((any::<f64>(), any::<f64>()))
}

prop_compose! {
    fn arb_info()(
        data_type in arb_node_id(),
        value_rank in any::<i32>(),
        array_dimensions in proptest::option::of(proptest::collection::vec(any::<u32>(), 0..3)),
        access_level in any::<u8>(),
        user_access_level in any::<u8>(),
        minimum_sampling_interval in proptest::option::of(any::<f64>()),
        display_name in proptest::option::of(arb_string()),
        browse_name in proptest::option::of((any::<u16>(), arb_string())),
        description in proptest::option::of(arb_string()),
        value in proptest::option::of(arb_data_value()),
        eu_range in arb_range(),
        instrument_range in arb_range(),
        engineering_units in proptest::option::of(arb_string()),
        true_state in proptest::option::of(arb_string()),
        false_state in proptest::option::of(arb_string()),
        enum_strings in proptest::option::of(proptest::collection::vec(arb_string(), 0..4)),
        time_zone in proptest::option::of(any::<i16>()),
    ) -> UaVariableInfo {
        UaVariableInfo {
            data_type,
            value_rank,
            array_dimensions,
            access_level,
            user_access_level,
            minimum_sampling_interval,
            display_name,
            browse_name: browse_name.map(|(ns, n)| QualifiedName::new(ns, n)),
            description,
            value,
            eu_range,
            instrument_range,
            engineering_units,
            true_state,
            false_state,
            enum_strings,
            time_zone,
        }
    }
}

proptest! {
    #[test]
    fn available_properties_are_ordered_and_typed(info in arb_info()) {
        let props = available_properties(&info);
        prop_assert!(props.windows(2).all(|w| w[0].id < w[1].id));
        for p in &props {
            let row = PROPERTIES.iter().find(|r| r.0 == p.id);
            prop_assert_eq!(row.map(|r| (r.1, r.2)), Some((p.name, p.var_type)));
            prop_assert!(fits(p.id, p.var_type, &p.value), "{:?}", p);
            let single = property(&info, p.id).ok();
            prop_assert_eq!(single.as_ref(), Some(p));
        }
        for id in [DATATYPE, ACCESS_RIGHTS, SCAN_RATE, EU_TYPE, EU_INFO, UA_DATA_TYPE_ID, UA_VALUE_RANK] {
            prop_assert!(props.iter().any(|p| p.id == id), "missing {}", id);
        }
    }

    #[test]
    fn property_never_panics(info in arb_info(), id in any::<u32>()) {
        match property(&info, id) {
            Ok(p) => prop_assert_eq!(p.id, id),
            Err(e) => prop_assert_eq!(e, Hresult::OPC_E_INVALID_PID),
        }
    }
}
