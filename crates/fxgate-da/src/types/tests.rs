//! Unit tests of the type and value mappings: every row of OPC 10000-8 Tables A.32 and
//! A.36, the extensions, OLE dates, decimals and property tests of the round trips.

// The items the tests reach besides the module's public API (`use super::*`).
use std::str::FromStr;

use opcua::types::value_rank::ValueRank;
use opcua::types::{
    Array, ByteString, ByteStringBody, DataTypeId, DateTime, ExpandedNodeId, ExtensionObject, Guid,
    LocalizedText, NodeId, QualifiedName, StatusCode, Variant, VariantScalarTypeId, XmlElement,
};

use super::decimal::{decimal_type_id, parse_ua_decimal_body, ua_decimal, ua_decimal_body};
use super::ole_date::{MS_PER_DAY, OLE_EPOCH_TICKS, TICKS_PER_MS};
use super::text_forms::{expanded_node_id_text, parse_expanded_node_id};
use super::ua_to_da::bytes_value;

use super::*;
use proptest::prelude::*;

const ARRAY: fn(VarType) -> VarType = VarType::array_of;

/// Round trips that the tables deliberately do not have, with the type they end at.
const ROUND_TRIP_EXCEPTIONS: [(VarType, VarType); 4] = [
    (VarType::VT_DATE, VarType::VT_R8), // A.32 VT_DATE → Double; A.36 Double → VT_R8
    (VarType::VT_CY, VarType::VT_R8),
    (VarType::VT_INT, VarType::VT_I4),
    (VarType::VT_UINT, VarType::VT_UI4),
];

fn dt(id: DataTypeId) -> NodeId {
    NodeId::from(id)
}

/// A sample VARIANT of scalar type `vt`.
fn sample_da(vt: VarType) -> DaValue {
    match vt {
        VarType::VT_I2 => DaValue::I2(-2),
        VarType::VT_I4 => DaValue::I4(-4),
        VarType::VT_R4 => DaValue::R4(4.5),
        VarType::VT_R8 => DaValue::R8(8.25),
        VarType::VT_BSTR => DaValue::Bstr("text".into()),
        VarType::VT_BOOL => DaValue::Bool(true),
        VarType::VT_UI1 => DaValue::UI1(1),
        VarType::VT_I1 => DaValue::I1(-1),
        VarType::VT_UI2 => DaValue::UI2(2),
        VarType::VT_UI4 => DaValue::UI4(4),
        VarType::VT_I8 => DaValue::I8(-8),
        VarType::VT_UI8 => DaValue::UI8(8),
        VarType::VT_DATE => DaValue::Date(45_000.5),
        VarType::VT_DECIMAL => DaValue::Decimal(DaDecimal::new(-12_345, 2).unwrap()),
        VarType::VT_INT => DaValue::Int(-22),
        VarType::VT_UINT => DaValue::UInt(23),
        VarType::VT_CY => DaValue::Cy(12_345),
        VarType::VT_VARIANT => DaValue::I4(12),
        other => panic!("no sample for {other}"),
    }
}

/// A sample UA value of DataType `id`.
fn sample_ua(id: DataTypeId) -> Variant {
    match id {
        DataTypeId::Int16 => Variant::Int16(-16),
        DataTypeId::Int32 => Variant::Int32(-32),
        DataTypeId::Float => Variant::Float(1.5),
        DataTypeId::Double => Variant::Double(2.5),
        DataTypeId::Decimal => ua_decimal(&DaDecimal::new(31_415, 4).unwrap()),
        DataTypeId::String => Variant::from("text"),
        DataTypeId::Boolean => Variant::Boolean(false),
        DataTypeId::Byte => Variant::Byte(200),
        DataTypeId::SByte => Variant::SByte(-100),
        DataTypeId::UInt16 => Variant::UInt16(60_000),
        DataTypeId::UInt32 => Variant::UInt32(4_000_000_000),
        DataTypeId::Int64 => Variant::Int64(-1 << 40),
        DataTypeId::UInt64 => Variant::UInt64(1 << 63),
        DataTypeId::Guid => Variant::Guid(Box::new(
            Guid::from_str("72962B91-FA75-4AE6-8D28-B404DC7DAF63").unwrap(),
        )),
        DataTypeId::DateTime => {
            Variant::DateTime(Box::new(DateTime::ymd_hms(2024, 2, 29, 12, 0, 0)))
        }
        DataTypeId::NodeId => Variant::NodeId(Box::new(NodeId::new(2, "Pump"))),
        DataTypeId::XmlElement => Variant::XmlElement(XmlElement::from("<a/>")),
        DataTypeId::ExpandedNodeId => {
            Variant::ExpandedNodeId(Box::new(ExpandedNodeId::new(NodeId::new(2, 7u32))))
        }
        DataTypeId::QualifiedName => {
            Variant::QualifiedName(Box::new(QualifiedName::new(3, "Name")))
        }
        DataTypeId::LocalizedText => {
            Variant::LocalizedText(Box::new(LocalizedText::new("en", "Hello")))
        }
        DataTypeId::StatusCode => Variant::StatusCode(StatusCode::BadNodeIdUnknown),
        DataTypeId::Structure => {
            Variant::ExtensionObject(ExtensionObject::from_message(opcua::types::Range {
                low: 0.0,
                high: 1.0,
            }))
        }
        other => panic!("no sample for {other:?}"),
    }
}

// --- Table A.32 -------------------------------------------------------------------

#[test]
fn table_a32_every_row() {
    assert_eq!(
        TABLE_A32.len(),
        14,
        "A.32 has 14 scalar rows plus the VT_ARRAY rule"
    );
    for (vt, ua) in TABLE_A32 {
        // Type mapping, scalar and array (the VT_ARRAY row).
        assert_eq!(da_to_ua_type(vt), Some((ua, ValueRank::SCALAR)), "{vt}");
        assert_eq!(
            da_to_ua_type(ARRAY(vt)),
            Some((ua, ValueRank::ONE_OR_MORE_DIMENSIONS)),
            "{}",
            ARRAY(vt)
        );
        // Value mapping agrees with the type mapping.
        let value = sample_da(vt);
        let converted = da_to_ua_value(&value, None).unwrap();
        assert_eq!(
            converted.data_type(),
            Some(ExpandedNodeId::from(ua)),
            "{vt}"
        );
        let array = DaValue::Array(vt, vec![value.clone(), value]);
        match da_to_ua_value(&array, None).unwrap() {
            Variant::Array(a) => {
                assert_eq!(a.values.len(), 2);
                assert_eq!(
                    a.values[0].data_type(),
                    Some(ExpandedNodeId::from(ua)),
                    "{vt}"
                );
            }
            other => panic!("{vt}: not an array: {other:?}"),
        }
    }
}

#[test]
fn a32_extensions_and_unmapped_types() {
    for (vt, ua) in DA_TO_UA_EXTENSIONS {
        assert_eq!(da_to_ua_type(vt), Some((ua, ValueRank::SCALAR)), "{vt}");
        assert_eq!(
            da_to_ua_type(ARRAY(vt)),
            Some((ua, ValueRank::ONE_OR_MORE_DIMENSIONS))
        );
    }
    for vt in [
        VarType::VT_EMPTY,
        VarType::VT_ERROR,
        VarType::VT_ARRAY,
        VarType(0x4000 | 5), // VT_BYREF|VT_R8
        VarType(0x1000 | 5), // VT_VECTOR|VT_R8
        VarType(99),
    ] {
        assert_eq!(da_to_ua_type(vt), None, "{vt}");
    }
}

// --- Table A.36 -------------------------------------------------------------------

#[test]
fn table_a36_every_row() {
    assert_eq!(
        TABLE_A36.len(),
        22,
        "A.36 has 22 scalar rows plus the array rule"
    );
    for (ua, vt) in TABLE_A36 {
        assert_eq!(ua_to_da_type(&dt(ua), -1), vt, "{ua:?}");
        // "Array of above OPC UA types → Array of corresponding Variant type".
        let expected_array = if vt.is_array() {
            ARRAY(VarType::VT_VARIANT)
        } else {
            ARRAY(vt)
        };
        for rank in [0, 1, 2] {
            assert_eq!(
                ua_to_da_type(&dt(ua), rank),
                expected_array,
                "{ua:?} rank {rank}"
            );
        }
        // Value mapping agrees with the type mapping.
        let value = sample_ua(ua);
        assert_eq!(ua_to_da_value(&value).var_type(), vt, "{ua:?}: {value:?}");
        let array = Variant::Array(Box::new(
            Array::new(
                value.scalar_type_id().unwrap(),
                vec![value.clone(), value.clone()],
            )
            .unwrap(),
        ));
        assert_eq!(
            ua_to_da_value(&array).var_type(),
            expected_array,
            "{ua:?} array"
        );
    }
}

#[test]
fn a36_text_forms() {
    let text = |id| match ua_to_da_value(&sample_ua(id)) {
        DaValue::Bstr(s) => s,
        other => panic!("{id:?}: {other:?}"),
    };
    assert_eq!(
        text(DataTypeId::Guid),
        "72962b91-fa75-4ae6-8d28-b404dc7daf63"
    );
    assert_eq!(text(DataTypeId::NodeId), "ns=2;s=Pump");
    assert_eq!(text(DataTypeId::ExpandedNodeId), "ns=2;i=7");
    let mut remote = ExpandedNodeId::new(NodeId::new(0, 7u32));
    remote.server_index = 3;
    remote.namespace_uri = "urn:a;b".into();
    let remote_text = expanded_node_id_text(&remote);
    assert_eq!(remote_text, "svr=3;nsu=urn:a%3bb;i=7");
    assert_eq!(parse_expanded_node_id(&remote_text), Some(remote));
    for local in [NodeId::new(0, 7u32), NodeId::new(2, "a;b")] {
        let id = ExpandedNodeId::new(local);
        assert_eq!(
            parse_expanded_node_id(&expanded_node_id_text(&id)),
            Some(id.clone())
        );
        assert_eq!(parse_expanded_node_id(&id.to_string()), Some(id));
    }
    assert_eq!(text(DataTypeId::QualifiedName), "3:Name");
    assert_eq!(text(DataTypeId::LocalizedText), "Hello");
    assert_eq!(text(DataTypeId::XmlElement), "<a/>");
    assert_eq!(
        ua_to_da_value(&sample_ua(DataTypeId::StatusCode)),
        DaValue::UI4(StatusCode::BadNodeIdUnknown.bits())
    );
    assert_eq!(
        ua_to_da_value(&sample_ua(DataTypeId::Decimal)),
        DaValue::Decimal(DaDecimal::new(31_415, 4).unwrap())
    );
    // ExtensionObject: the binary body (Range = two doubles).
    let mut body = 0.0f64.to_le_bytes().to_vec();
    body.extend(1.0f64.to_le_bytes());
    assert_eq!(
        ua_to_da_value(&sample_ua(DataTypeId::Structure)),
        bytes_value(&body)
    );
    assert_eq!(
        ua_to_da_value(&Variant::ExtensionObject(ExtensionObject::null())),
        bytes_value(&[])
    );
    assert_eq!(
        ua_to_da_value(&Variant::ByteString(ByteString::from(vec![1u8, 2]))),
        bytes_value(&[1, 2])
    );
    assert_eq!(
        ua_to_da_value(&Variant::String(Default::default())),
        DaValue::Bstr(String::new())
    );
}

#[test]
fn a36_extensions_subtypes_and_unknown_types() {
    for (ua, vt) in UA_TO_DA_EXTENSIONS {
        assert_eq!(ua_to_da_type(&dt(ua), -1), vt, "{ua:?}");
    }
    for (sub, base) in NS0_SUBTYPES {
        assert_eq!(
            ua_to_da_type(&dt(sub), -1),
            ua_to_da_type(&dt(base), -1),
            "{sub:?}"
        );
        assert_eq!(
            ua_to_da_type(&dt(sub), 1),
            ua_to_da_type(&dt(base), 1),
            "{sub:?}"
        );
    }
    // Any / ScalarOrOneDimension give the scalar type.
    assert_eq!(ua_to_da_type(&dt(DataTypeId::Double), -2), VarType::VT_R8);
    assert_eq!(ua_to_da_type(&dt(DataTypeId::Double), -3), VarType::VT_R8);
    // Structures (ns=0 or not) and unknown DataTypes: the ExtensionObject row.
    assert_eq!(
        ua_to_da_type(&dt(DataTypeId::Range), -1),
        ARRAY(VarType::VT_UI1)
    );
    assert_eq!(
        ua_to_da_type(&NodeId::new(2, 3003u32), -1),
        ARRAY(VarType::VT_UI1)
    );
    assert_eq!(
        ua_to_da_type(&NodeId::new(2, "MyStruct"), 1),
        ARRAY(VarType::VT_VARIANT)
    );
    assert_eq!(
        ua_to_da_type(&dt(DataTypeId::BaseDataType), 1),
        ARRAY(VarType::VT_VARIANT)
    );
}

#[test]
fn types_round_trip_where_both_tables_agree() {
    for (vt, _) in TABLE_A32.iter().chain(DA_TO_UA_EXTENSIONS.iter()) {
        let expected = ROUND_TRIP_EXCEPTIONS
            .iter()
            .find(|(from, _)| from == vt)
            .map_or(*vt, |(_, to)| *to);
        for v in [*vt, ARRAY(*vt)] {
            let (ua, rank) = da_to_ua_type(v).unwrap();
            let back = ua_to_da_type(&dt(ua), rank.to_i32());
            let expected = if v.is_array() {
                ARRAY(expected)
            } else {
                expected
            };
            assert_eq!(back, expected, "{v} → {ua:?} → {back}");
        }
    }
}

// --- VarType ----------------------------------------------------------------------

#[test]
fn var_type_display_and_flags() {
    assert_eq!(VarType::VT_R8.to_string(), "VT_R8");
    assert_eq!(ARRAY(VarType::VT_R8).to_string(), "VT_ARRAY|VT_R8");
    assert_eq!(VarType(99).to_string(), "VT(0x0063)");
    assert_eq!(format!("{:?}", ARRAY(VarType::VT_UI1)), "VT_ARRAY|VT_UI1");
    assert!(ARRAY(VarType::VT_I4).is_array());
    assert!(!VarType::VT_I4.is_array());
    assert_eq!(ARRAY(VarType::VT_I4).element(), VarType::VT_I4);
    assert_eq!(VarType(0x2005), ARRAY(VarType::VT_R8));
}

// --- OLE dates --------------------------------------------------------------------

#[test]
fn ole_date_reference_points() {
    let cases = [
        (DateTime::ymd_hms(1899, 12, 30, 0, 0, 0), 0.0),
        (DateTime::ymd_hms(1900, 1, 1, 0, 0, 0), 2.0),
        (DateTime::ymd_hms(1899, 12, 29, 6, 0, 0), -1.25),
        (DateTime::ymd_hms(1899, 12, 28, 18, 0, 0), -2.75),
        (DateTime::ymd_hms(2000, 1, 1, 12, 0, 0), 36_526.5),
        (DateTime::ymd_hms(1601, 1, 1, 0, 0, 0), -109_205.0),
        (DateTime::ymd_hms(9999, 12, 31, 0, 0, 0), 2_958_465.0),
    ];
    for (dt, ole) in cases {
        assert_eq!(ole_date_from_ua(&dt), ole, "{dt}");
        assert_eq!(ua_from_ole_date(ole), Some(dt), "{ole}");
    }
    assert_eq!(
        ole_date_from_ua(&DateTime::ymd_hms_nano(2000, 1, 1, 0, 0, 0, 1_500_000)),
        36_526.0 + 2.0 / MS_PER_DAY as f64,
        "rounded to the nearest millisecond"
    );
    // (-1, 0) is 1899-12-30 again, with the time of day as |fraction|.
    assert_eq!(
        ua_from_ole_date(-0.5),
        Some(DateTime::ymd_hms(1899, 12, 30, 12, 0, 0))
    );
    for bad in [f64::NAN, f64::INFINITY, -109_206.0, 2_958_466.0, 1e300] {
        assert_eq!(ua_from_ole_date(bad), None, "{bad}");
    }
}

// --- Values -----------------------------------------------------------------------

#[test]
fn writes_convert_to_the_target_type() {
    use DataTypeId as D;
    let ok = |v: DaValue, t: D| da_to_ua_value(&v, Some(t)).unwrap();
    assert_eq!(ok(DaValue::R8(2.5), D::Int32), Variant::Int32(2));
    assert_eq!(ok(DaValue::R8(3.5), D::Int32), Variant::Int32(4));
    assert_eq!(
        ok(DaValue::Bstr(" 42 ".into()), D::UInt16),
        Variant::UInt16(42)
    );
    assert_eq!(ok(DaValue::I2(7), D::Double), Variant::Double(7.0));
    assert_eq!(ok(DaValue::Bool(true), D::Byte), Variant::Byte(1));
    assert_eq!(ok(DaValue::I4(0), D::Boolean), Variant::Boolean(false));
    assert_eq!(
        ok(DaValue::Bstr("True".into()), D::Boolean),
        Variant::Boolean(true)
    );
    assert_eq!(ok(DaValue::Cy(12_345), D::String), Variant::from("1.2345"));
    assert_eq!(ok(DaValue::Cy(12_345), D::Double), Variant::Double(1.2345));
    assert_eq!(ok(DaValue::I4(5), D::Enumeration), Variant::Int32(5));
    assert_eq!(ok(DaValue::R8(1.5), D::Duration), Variant::Double(1.5));
    assert_eq!(
        ok(DaValue::Date(36_526.5), D::UtcTime),
        Variant::DateTime(Box::new(DateTime::ymd_hms(2000, 1, 1, 12, 0, 0)))
    );
    assert_eq!(
        ok(DaValue::Bstr("2000-01-01T12:00:00Z".into()), D::DateTime),
        Variant::DateTime(Box::new(DateTime::ymd_hms(2000, 1, 1, 12, 0, 0)))
    );
    assert_eq!(
        ok(DaValue::Bstr("ns=2;s=Pump".into()), D::NodeId),
        Variant::NodeId(Box::new(NodeId::new(2, "Pump")))
    );
    assert_eq!(
        ok(DaValue::Bstr("3:Name".into()), D::QualifiedName),
        Variant::QualifiedName(Box::new(QualifiedName::new(3, "Name")))
    );
    assert_eq!(
        ok(
            DaValue::I4(StatusCode::BadNodeIdUnknown.bits() as i32),
            D::StatusCode
        ),
        Variant::StatusCode(StatusCode::BadNodeIdUnknown)
    );
    assert_eq!(
        ok(DaValue::Bstr("-1.50".into()), D::Decimal),
        ua_decimal(&DaDecimal::new(-150, 2).unwrap())
    );
    assert_eq!(
        ok(bytes_value(&[1, 2, 3]), D::ByteString),
        Variant::ByteString(ByteString::from(vec![1u8, 2, 3]))
    );
    assert_eq!(
        ok(
            DaValue::Array(VarType::VT_R8, vec![DaValue::R8(1.0), DaValue::R8(2.0)]),
            D::Float
        ),
        Variant::from(vec![1.0f32, 2.0])
    );
    assert_eq!(ok(DaValue::Empty, D::Int32), Variant::Empty);
    assert_eq!(ok(DaValue::I2(3), D::BaseDataType), Variant::Int16(3));
    assert_eq!(ok(DaValue::I2(3), D::Number), Variant::Int16(3));
}

#[test]
fn writes_fail_with_typed_errors() {
    use DataTypeId as D;
    let err = |v: DaValue, t: Option<D>| da_to_ua_value(&v, t).unwrap_err();
    assert_eq!(
        err(DaValue::I4(300), Some(D::Byte)),
        TypeMismatch::OutOfRange {
            from: VarType::VT_I4,
            to: D::Byte
        }
    );
    assert!(err(DaValue::I4(-1), Some(D::UInt32)).is_out_of_range());
    assert!(err(DaValue::R8(f64::NAN), Some(D::Int64)).is_out_of_range());
    assert!(err(DaValue::R8(1e39), Some(D::Float)).is_out_of_range());
    assert!(err(DaValue::Date(1e7), Some(D::DateTime)).is_out_of_range());
    assert!(err(DaValue::R8(1e30), Some(D::Decimal)).is_out_of_range());
    assert_eq!(
        err(DaValue::Bstr("abc".into()), Some(D::Int32)),
        TypeMismatch::Unparsable {
            text: "abc".into(),
            to: D::Int32
        }
    );
    assert!(matches!(
        err(DaValue::Bstr("x".into()), Some(D::Guid)),
        TypeMismatch::Unparsable { .. }
    ));
    assert!(matches!(
        err(DaValue::Bstr("maybe".into()), Some(D::Boolean)),
        TypeMismatch::Unparsable { .. }
    ));
    let incompatible =
        |v: DaValue, t: Option<D>| matches!(err(v, t), TypeMismatch::Incompatible { .. });
    assert!(incompatible(DaValue::I4(1), Some(D::Guid)));
    assert!(incompatible(DaValue::Bool(true), Some(D::DateTime)));
    assert!(incompatible(DaValue::Error(5), None));
    assert!(incompatible(DaValue::Error(5), Some(D::Int32)));
    assert!(incompatible(bytes_value(&[1]), Some(D::Structure)));
    assert!(incompatible(DaValue::I4(1), Some(D::ByteString)));
    assert!(incompatible(
        DaValue::Array(VarType::VT_I4, vec![DaValue::I4(1)]),
        Some(D::Structure)
    ));
    assert!(incompatible(DaValue::Bstr("1".into()), Some(D::Integer)));
    assert!(incompatible(DaValue::I4(-1), Some(D::UInteger)));
    // An array whose elements do not have the declared element type.
    assert!(incompatible(
        DaValue::Array(VarType::VT_I4, vec![DaValue::R8(1.0)]),
        None
    ));
}

#[test]
fn arrays_and_variant_arrays() {
    let mixed = DaValue::Array(
        VarType::VT_VARIANT,
        vec![DaValue::I4(1), DaValue::Bstr("x".into()), DaValue::Empty],
    );
    let ua = da_to_ua_value(&mixed, None).unwrap();
    let Variant::Array(a) = &ua else {
        panic!("{ua:?}")
    };
    assert_eq!(a.value_type, VariantScalarTypeId::Variant);
    assert_eq!(ua_to_da_value(&ua), mixed);

    let ints = Variant::from(vec![1i32, -2, 3]);
    let da = ua_to_da_value(&ints);
    assert_eq!(da.var_type(), ARRAY(VarType::VT_I4));
    assert_eq!(da_to_ua_value(&da, None).unwrap(), ints);
    assert_eq!(da_to_ua_value(&da, Some(DataTypeId::Int32)).unwrap(), ints);

    let decimals = DaValue::Array(
        VarType::VT_DECIMAL,
        vec![DaValue::Decimal(DaDecimal::new(1, 1).unwrap())],
    );
    let ua = da_to_ua_value(&decimals, None).unwrap();
    assert_eq!(ua_to_da_value(&ua), decimals);

    let bytestrings = Variant::from(vec![ByteString::from(vec![1u8])]);
    assert_eq!(
        ua_to_da_value(&bytestrings),
        DaValue::Array(VarType::VT_VARIANT, vec![bytes_value(&[1])])
    );
}

#[test]
fn decimals() {
    let d = |m, s| DaDecimal::new(m, s).unwrap();
    assert_eq!(d(-12_345, 2).to_string(), "-123.45");
    assert_eq!(d(5, 3).to_string(), "0.005");
    assert_eq!(d(7, 0).to_string(), "7");
    assert_eq!(DaDecimal::parse("-0.005"), Some(d(-5, 3)));
    assert_eq!(DaDecimal::parse("+12."), Some(d(12, 0)));
    assert_eq!(DaDecimal::parse(".5"), Some(d(5, 1)));
    for bad in [
        "",
        ".",
        "-",
        "1e5",
        "1.2.3",
        "abc",
        "79228162514264337593543950336",
    ] {
        assert_eq!(DaDecimal::parse(bad), None, "{bad:?}");
    }
    assert_eq!(
        DaDecimal::parse("79228162514264337593543950335"),
        Some(d(DaDecimal::MAX_MANTISSA, 0))
    );
    assert_eq!(DaDecimal::new(DaDecimal::MAX_MANTISSA + 1, 0), None);
    assert_eq!(DaDecimal::new(1, 29), None);
    // Scale above 28 rounds half to even; negative scale multiplies.
    assert_eq!(DaDecimal::from_scaled(25, 29), Some(d(2, 28)));
    assert_eq!(DaDecimal::from_scaled(35, 29), Some(d(4, 28)));
    assert_eq!(DaDecimal::from_scaled(-35, 29), Some(d(-4, 28)));
    assert_eq!(DaDecimal::from_scaled(12, -3), Some(d(12_000, 0)));
    assert_eq!(d(25, 1).round_to_integer(), 2);
    assert_eq!(d(-35, 1).round_to_integer(), -4);
    assert_eq!(d(-12_345, 4).to_f64(), -1.2345);
    // UA Decimal body round trip, including sign-extension edge cases.
    for m in [
        0,
        1,
        -1,
        127,
        128,
        -128,
        -129,
        255,
        256,
        i64::MAX.into(),
        DaDecimal::MAX_MANTISSA,
        -DaDecimal::MAX_MANTISSA,
    ] {
        let dec = d(m, 3);
        assert_eq!(
            parse_ua_decimal_body(&ua_decimal_body(&dec)),
            Some((m, 3)),
            "{m}"
        );
        assert_eq!(ua_to_da_value(&ua_decimal(&dec)), DaValue::Decimal(dec));
    }
    assert_eq!(ua_decimal_body(&d(128, 0)), vec![0, 0, 0x80, 0x00]);
    assert_eq!(ua_decimal_body(&d(-128, 0)), vec![0, 0, 0x80]);
    // A UA Decimal beyond VT_DECIMAL becomes VT_R8.
    let mut big = 0i16.to_le_bytes().to_vec();
    big.extend((1i128 << 100).to_le_bytes());
    let eo = ExtensionObject::new(ByteStringBody::new(
        ByteString::from(big),
        decimal_type_id(),
    ));
    assert_eq!(
        ua_to_da_value(&Variant::ExtensionObject(eo)),
        DaValue::R8(2f64.powi(100))
    );
}

fn ua_scalar() -> impl Strategy<Value = Variant> {
    prop_oneof![
        any::<bool>().prop_map(Variant::Boolean),
        any::<i8>().prop_map(Variant::SByte),
        any::<u8>().prop_map(Variant::Byte),
        any::<i16>().prop_map(Variant::Int16),
        any::<u16>().prop_map(Variant::UInt16),
        any::<i32>().prop_map(Variant::Int32),
        any::<u32>().prop_map(Variant::UInt32),
        any::<i64>().prop_map(Variant::Int64),
        any::<u64>().prop_map(Variant::UInt64),
        any::<f32>()
            .prop_filter("NaN", |f| !f.is_nan())
            .prop_map(Variant::Float),
        any::<f64>()
            .prop_filter("NaN", |f| !f.is_nan())
            .prop_map(Variant::Double),
        any::<String>().prop_map(Variant::from),
    ]
}

proptest! {
    #[test]
    fn values_round_trip_through_a36_then_a32(v in ua_scalar()) {
        let da = ua_to_da_value(&v);
        prop_assert_eq!(da_to_ua_value(&da, None)?, v.clone());
        let target = v.data_type().and_then(|t| t.node_id.as_data_type_id().ok());
        prop_assert_eq!(da_to_ua_value(&da, target)?, v);
    }

    #[test]
    fn arrays_round_trip(v in proptest::collection::vec(any::<i64>(), 0..8)) {
        let ua = Variant::from(v);
        prop_assert_eq!(da_to_ua_value(&ua_to_da_value(&ua), Some(DataTypeId::Int64))?, ua);
    }

    #[test]
    fn date_times_round_trip_to_the_millisecond(ticks in 0..=DateTime::endtimes_ticks()) {
        let dt = DateTime::from(ticks);
        let ms_ticks = (ticks + TICKS_PER_MS / 2) / TICKS_PER_MS * TICKS_PER_MS;
        let expected = Variant::DateTime(Box::new(DateTime::from(ms_ticks)));
        let da = ua_to_da_value(&Variant::DateTime(Box::new(dt)));
        prop_assert_eq!(da_to_ua_value(&da, Some(DataTypeId::DateTime))?, expected);
    }

    #[test]
    fn ole_dates_are_exact_to_the_millisecond(
        // 1601-01-01 to 9999-12-31 23:59:59, the UA DateTime range.
        ms in -109_205 * MS_PER_DAY..=2_958_465 * MS_PER_DAY + 86_399_000
    ) {
        let dt = DateTime::from(OLE_EPOCH_TICKS + ms * TICKS_PER_MS);
        let ole = ole_date_from_ua(&dt);
        prop_assert_eq!(ua_from_ole_date(ole), Some(dt));
        prop_assert_eq!(ole_date_from_ua(&DateTime::from(OLE_EPOCH_TICKS + ms * TICKS_PER_MS)), ole);
    }

    #[test]
    fn integer_writes_never_panic(f in any::<f64>(), s in ".*") {
        for t in [DataTypeId::SByte, DataTypeId::UInt64, DataTypeId::Decimal, DataTypeId::DateTime, DataTypeId::Float] {
            let _ = da_to_ua_value(&DaValue::R8(f), Some(t));
            let _ = da_to_ua_value(&DaValue::Bstr(s.clone()), Some(t));
        }
    }
}
