//! OPC DA read/write HRESULTs ↔ OPC UA `StatusCode`, OPC 10000-8 Annex A.
//!
//! - COM UA Wrapper direction (DA → UA): Table A.34 (read), Table A.35 (write).
//! - COM UA Proxy direction (UA → DA): Table A.38 (read), Table A.39 (write).
//!
//! The tables abbreviate some names: `E_INVALIDITEMID`, `E_INVALID_PID`,
//! `E_BADRIGHTS`, `E_BADTYPE`, `E_RANGE`, `E_INVALIDHANDLE`,
//! `E_UNKNOWNITEMID`, `E_NOTSUPPORTED` and `S_CLAMP` are no Windows codes;
//! they are read as the `OPC_E_*` / `OPC_S_*` codes of OPC DA 3.00 (Data Access Custom Interface Standard).
//! `E_OUTOFMEMORY`, `E_ACCESSDENIED`, `E_FAIL`, `DISP_E_TYPEMISMATCH` and
//! `DISP_E_OVERFLOW` are the Windows COM HRESULT codes.

use std::fmt;

use opcua::types::StatusCode;

/// A COM `HRESULT`, as the unsigned 32-bit pattern (`0xC0040006`, not the
/// negative `i32`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hresult(pub u32);

impl Hresult {
    /// `S_OK`: success.
    pub const S_OK: Hresult = Hresult(0x0000_0000);
    /// `S_FALSE`: success, with a partial result.
    pub const S_FALSE: Hresult = Hresult(0x0000_0001);
    /// `E_NOTIMPL`: not implemented.
    pub const E_NOTIMPL: Hresult = Hresult(0x8000_4001);
    /// `E_FAIL`: unspecified failure.
    pub const E_FAIL: Hresult = Hresult(0x8000_4005);
    /// `E_ACCESSDENIED`: general access denied.
    pub const E_ACCESSDENIED: Hresult = Hresult(0x8007_0005);
    /// `E_OUTOFMEMORY`: out of memory.
    pub const E_OUTOFMEMORY: Hresult = Hresult(0x8007_000E);
    /// `E_INVALIDARG`: one or more arguments are invalid.
    pub const E_INVALIDARG: Hresult = Hresult(0x8007_0057);
    /// `DISP_E_TYPEMISMATCH`: type mismatch.
    pub const DISP_E_TYPEMISMATCH: Hresult = Hresult(0x8002_0005);
    /// `DISP_E_OVERFLOW`: out of present range.
    pub const DISP_E_OVERFLOW: Hresult = Hresult(0x8002_000A);

    /// `OPC_E_INVALIDHANDLE`: the value of the handle is invalid.
    pub const OPC_E_INVALIDHANDLE: Hresult = Hresult(0xC004_0001);
    /// `OPC_E_BADTYPE`: the server cannot convert between the requested and the canonical data type.
    pub const OPC_E_BADTYPE: Hresult = Hresult(0xC004_0004);
    /// `OPC_E_PUBLIC`: the operation cannot be done on a public group.
    pub const OPC_E_PUBLIC: Hresult = Hresult(0xC004_0005);
    /// `OPC_E_BADRIGHTS`: the item's access rights do not allow the operation.
    pub const OPC_E_BADRIGHTS: Hresult = Hresult(0xC004_0006);
    /// `OPC_E_UNKNOWNITEMID`: the item ID is not (or no longer) in the server address space.
    pub const OPC_E_UNKNOWNITEMID: Hresult = Hresult(0xC004_0007);
    /// `OPC_E_INVALIDITEMID`: the item ID does not conform to the server's syntax.
    pub const OPC_E_INVALIDITEMID: Hresult = Hresult(0xC004_0008);
    /// `OPC_E_INVALIDFILTER`: the filter string was not valid.
    pub const OPC_E_INVALIDFILTER: Hresult = Hresult(0xC004_0009);
    /// `OPC_E_UNKNOWNPATH`: the item's access path is not known to the server.
    pub const OPC_E_UNKNOWNPATH: Hresult = Hresult(0xC004_000A);
    /// `OPC_E_RANGE`: the value was out of range.
    pub const OPC_E_RANGE: Hresult = Hresult(0xC004_000B);
    /// `OPC_E_DUPLICATENAME`: duplicate name not allowed.
    pub const OPC_E_DUPLICATENAME: Hresult = Hresult(0xC004_000C);
    /// `OPC_S_UNSUPPORTEDRATE`: the requested rate is not supported; the closest one is used.
    pub const OPC_S_UNSUPPORTEDRATE: Hresult = Hresult(0x0004_000D);
    /// `OPC_S_CLAMP`: a value passed to write was accepted but the output was clamped.
    pub const OPC_S_CLAMP: Hresult = Hresult(0x0004_000E);
    /// `OPC_S_INUSE`: the object is still referenced.
    pub const OPC_S_INUSE: Hresult = Hresult(0x0004_000F);
    /// `OPC_E_INVALIDCONFIGFILE`: the server's configuration file has an invalid format.
    pub const OPC_E_INVALIDCONFIGFILE: Hresult = Hresult(0xC004_0010);
    /// `OPC_E_NOTFOUND`: the requested object was not found.
    pub const OPC_E_NOTFOUND: Hresult = Hresult(0xC004_0011);
    /// `OPC_E_INVALID_PID`: the property ID is not valid for the item.
    pub const OPC_E_INVALID_PID: Hresult = Hresult(0xC004_0203);
    /// `OPC_E_DEADBANDNOTSET`: the item deadband has not been set.
    pub const OPC_E_DEADBANDNOTSET: Hresult = Hresult(0xC004_0400);
    /// `OPC_E_DEADBANDNOTSUPPORTED`: the item does not support deadband.
    pub const OPC_E_DEADBANDNOTSUPPORTED: Hresult = Hresult(0xC004_0401);
    /// `OPC_E_NOBUFFERING`: the server does not support buffering.
    pub const OPC_E_NOBUFFERING: Hresult = Hresult(0xC004_0402);
    /// `OPC_E_INVALIDCONTINUATIONPOINT`: the continuation point is not valid.
    pub const OPC_E_INVALIDCONTINUATIONPOINT: Hresult = Hresult(0xC004_0403);
    /// `OPC_S_DATAQUEUEOVERFLOW`: not every detected change has been returned.
    pub const OPC_S_DATAQUEUEOVERFLOW: Hresult = Hresult(0x0004_0404);
    /// `OPC_E_RATENOTSET`: there is no sampling rate set for the item.
    pub const OPC_E_RATENOTSET: Hresult = Hresult(0xC004_0405);
    /// `OPC_E_NOTSUPPORTED`: the server does not support writing quality and/or timestamp.
    pub const OPC_E_NOTSUPPORTED: Hresult = Hresult(0xC004_0406);

    /// `SUCCEEDED(hr)`: the severity bit (31) is clear.
    pub const fn succeeded(self) -> bool {
        self.0 & 0x8000_0000 == 0
    }

    /// `FAILED(hr)`: the severity bit (31) is set.
    pub const fn failed(self) -> bool {
        !self.succeeded()
    }

    /// The symbolic name (e.g. `"OPC_E_BADRIGHTS"`), `None` for a code this
    /// module does not know.
    pub fn name(self) -> Option<&'static str> {
        NAMES.iter().find(|(h, _)| *h == self).map(|(_, n)| *n)
    }

    /// The code with the symbolic name `name` (exact, e.g. `"OPC_E_BADRIGHTS"`).
    pub fn from_name(name: &str) -> Option<Hresult> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(h, _)| *h)
    }
}

/// Every named constant of [`Hresult`].
const NAMES: &[(Hresult, &str)] = &[
    (Hresult::S_OK, "S_OK"),
    (Hresult::S_FALSE, "S_FALSE"),
    (Hresult::E_NOTIMPL, "E_NOTIMPL"),
    (Hresult::E_FAIL, "E_FAIL"),
    (Hresult::E_ACCESSDENIED, "E_ACCESSDENIED"),
    (Hresult::E_OUTOFMEMORY, "E_OUTOFMEMORY"),
    (Hresult::E_INVALIDARG, "E_INVALIDARG"),
    (Hresult::DISP_E_TYPEMISMATCH, "DISP_E_TYPEMISMATCH"),
    (Hresult::DISP_E_OVERFLOW, "DISP_E_OVERFLOW"),
    (Hresult::OPC_E_INVALIDHANDLE, "OPC_E_INVALIDHANDLE"),
    (Hresult::OPC_E_BADTYPE, "OPC_E_BADTYPE"),
    (Hresult::OPC_E_PUBLIC, "OPC_E_PUBLIC"),
    (Hresult::OPC_E_BADRIGHTS, "OPC_E_BADRIGHTS"),
    (Hresult::OPC_E_UNKNOWNITEMID, "OPC_E_UNKNOWNITEMID"),
    (Hresult::OPC_E_INVALIDITEMID, "OPC_E_INVALIDITEMID"),
    (Hresult::OPC_E_INVALIDFILTER, "OPC_E_INVALIDFILTER"),
    (Hresult::OPC_E_UNKNOWNPATH, "OPC_E_UNKNOWNPATH"),
    (Hresult::OPC_E_RANGE, "OPC_E_RANGE"),
    (Hresult::OPC_E_DUPLICATENAME, "OPC_E_DUPLICATENAME"),
    (Hresult::OPC_S_UNSUPPORTEDRATE, "OPC_S_UNSUPPORTEDRATE"),
    (Hresult::OPC_S_CLAMP, "OPC_S_CLAMP"),
    (Hresult::OPC_S_INUSE, "OPC_S_INUSE"),
    (Hresult::OPC_E_INVALIDCONFIGFILE, "OPC_E_INVALIDCONFIGFILE"),
    (Hresult::OPC_E_NOTFOUND, "OPC_E_NOTFOUND"),
    (Hresult::OPC_E_INVALID_PID, "OPC_E_INVALID_PID"),
    (Hresult::OPC_E_DEADBANDNOTSET, "OPC_E_DEADBANDNOTSET"),
    (
        Hresult::OPC_E_DEADBANDNOTSUPPORTED,
        "OPC_E_DEADBANDNOTSUPPORTED",
    ),
    (Hresult::OPC_E_NOBUFFERING, "OPC_E_NOBUFFERING"),
    (
        Hresult::OPC_E_INVALIDCONTINUATIONPOINT,
        "OPC_E_INVALIDCONTINUATIONPOINT",
    ),
    (Hresult::OPC_S_DATAQUEUEOVERFLOW, "OPC_S_DATAQUEUEOVERFLOW"),
    (Hresult::OPC_E_RATENOTSET, "OPC_E_RATENOTSET"),
    (Hresult::OPC_E_NOTSUPPORTED, "OPC_E_NOTSUPPORTED"),
];

/// `OPC_E_BADRIGHTS (0xC0040006)`; an unknown code prints as `0x12345678`.
impl fmt::Display for Hresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} (0x{:08X})", self.0),
            None => write!(f, "0x{:08X}", self.0),
        }
    }
}

impl fmt::Debug for Hresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hresult({self})")
    }
}

impl std::error::Error for Hresult {}

/// Table A.34 – OPC DA read error → OPC UA StatusCode (COM UA Wrapper), rows
/// in the order of the spec. Other failures: [`DA_READ_ERROR_OTHERS`].
#[rustfmt::skip]
pub const DA_READ_ERRORS: &[(Hresult, StatusCode)] = &[
    // Table A.34
    (Hresult::OPC_E_BADRIGHTS,     StatusCode::BadNotReadable),
    (Hresult::E_OUTOFMEMORY,       StatusCode::BadOutOfMemory),
    (Hresult::OPC_E_INVALIDHANDLE, StatusCode::BadNodeIdUnknown),
    (Hresult::OPC_E_UNKNOWNITEMID, StatusCode::BadNodeIdUnknown),
    (Hresult::OPC_E_INVALIDITEMID, StatusCode::BadNodeIdInvalid),      // spec: E_INVALIDITEMID
    (Hresult::OPC_E_INVALID_PID,   StatusCode::BadAttributeIdInvalid), // spec: E_INVALID_PID
    (Hresult::E_ACCESSDENIED,      StatusCode::BadOutOfService),
];

/// Table A.34, row "Others".
pub const DA_READ_ERROR_OTHERS: StatusCode = StatusCode::BadUnexpectedError;

/// Table A.35 – OPC DA write error → OPC UA StatusCode (COM UA Wrapper), rows
/// in the order of the spec. Other failures: [`DA_WRITE_ERROR_OTHERS`].
#[rustfmt::skip]
pub const DA_WRITE_ERRORS: &[(Hresult, StatusCode)] = &[
    // Table A.35
    (Hresult::OPC_E_BADRIGHTS,     StatusCode::BadNotWritable),       // spec: E_BADRIGHTS
    (Hresult::DISP_E_TYPEMISMATCH, StatusCode::BadTypeMismatch),
    (Hresult::OPC_E_BADTYPE,       StatusCode::BadTypeMismatch),      // spec: E_BADTYPE
    (Hresult::OPC_E_RANGE,         StatusCode::BadOutOfRange),        // spec: E_RANGE
    (Hresult::DISP_E_OVERFLOW,     StatusCode::BadOutOfRange),
    (Hresult::E_OUTOFMEMORY,       StatusCode::BadOutOfMemory),
    (Hresult::OPC_E_INVALIDHANDLE, StatusCode::BadNodeIdUnknown),     // spec: E_INVALIDHANDLE
    (Hresult::OPC_E_UNKNOWNITEMID, StatusCode::BadNodeIdUnknown),     // spec: E_UNKNOWNITEMID
    (Hresult::OPC_E_INVALIDITEMID, StatusCode::BadNodeIdInvalid),     // spec: E_INVALIDITEMID
    (Hresult::OPC_E_INVALID_PID,   StatusCode::BadNodeIdInvalid),     // spec: E_INVALID_PID
    (Hresult::OPC_E_NOTSUPPORTED,  StatusCode::BadWriteNotSupported), // spec: E_NOTSUPPORTED
    (Hresult::OPC_S_CLAMP,         StatusCode::GoodClamped),          // spec: S_CLAMP
];

/// Table A.35, row "Others".
pub const DA_WRITE_ERROR_OTHERS: StatusCode = StatusCode::BadUnexpectedError;

/// Table A.38 – OPC UA read StatusCode → OPC DA error (COM UA Proxy), rows in
/// the order of the spec. Matched on the StatusCode sub-code (bits 16-31).
#[rustfmt::skip]
pub const UA_READ_ERRORS: &[(StatusCode, Hresult)] = &[
    // Table A.38
    (StatusCode::BadOutOfMemory,        Hresult::E_OUTOFMEMORY),
    (StatusCode::BadNodeIdInvalid,      Hresult::OPC_E_INVALIDITEMID), // spec: E_INVALIDITEMID
    (StatusCode::BadNodeIdUnknown,      Hresult::OPC_E_UNKNOWNITEMID), // spec: E_UNKNOWNITEMID
    (StatusCode::BadNotReadable,        Hresult::OPC_E_BADRIGHTS),     // spec: E_BADRIGHTS
    (StatusCode::BadUserAccessDenied,   Hresult::E_ACCESSDENIED),
    (StatusCode::BadAttributeIdInvalid, Hresult::OPC_E_INVALIDITEMID), // spec: E_INVALIDITEMID
    (StatusCode::BadUnexpectedError,    Hresult::E_FAIL),
    (StatusCode::BadInternalError,      Hresult::E_FAIL),
    (StatusCode::BadSessionClosed,      Hresult::E_FAIL),
    (StatusCode::BadTypeMismatch,       Hresult::OPC_E_BADTYPE),       // spec: E_BADTYPE
];

/// Table A.39 – OPC UA write StatusCode → OPC DA error (COM UA Proxy), rows in
/// the order of the spec. Matched on the StatusCode sub-code (bits 16-31).
#[rustfmt::skip]
pub const UA_WRITE_ERRORS: &[(StatusCode, Hresult)] = &[
    // Table A.39
    (StatusCode::BadTypeMismatch,       Hresult::OPC_E_BADTYPE),       // spec: E_BADTYPE
    (StatusCode::BadOutOfMemory,        Hresult::E_OUTOFMEMORY),
    (StatusCode::BadNodeIdInvalid,      Hresult::OPC_E_INVALIDITEMID), // spec: E_INVALIDITEMID
    (StatusCode::BadNodeIdUnknown,      Hresult::OPC_E_UNKNOWNITEMID), // spec: E_UNKNOWNITEMID
    (StatusCode::BadNotWritable,        Hresult::OPC_E_BADRIGHTS),     // spec: E_BADRIGHTS
    (StatusCode::BadUserAccessDenied,   Hresult::E_ACCESSDENIED),
    (StatusCode::BadAttributeIdInvalid, Hresult::OPC_E_UNKNOWNITEMID), // spec: E_UNKNOWNITEMID
    (StatusCode::BadWriteNotSupported,  Hresult::OPC_E_NOTSUPPORTED),  // spec: E_NOTSUPPORTED
    (StatusCode::BadOutOfRange,         Hresult::OPC_E_RANGE),         // spec: E_RANGE
];

/// A UA Bad code that Tables A.38/A.39 do not list. The tables have no
/// "Others" row; `E_FAIL` is the code they give the generic UA failures
/// (`Bad_UnexpectedError`, `Bad_InternalError`).
pub const UA_ERROR_OTHERS: Hresult = Hresult::E_FAIL;

/// The StatusCode sub-code bits (severity and code, bits 16-31).
const SUB_CODE_MASK: u32 = 0xFFFF_0000;

fn da_to_ua(table: &[(Hresult, StatusCode)], others: StatusCode, h: Hresult) -> StatusCode {
    match table.iter().find(|(da, _)| *da == h) {
        Some((_, ua)) => *ua,
        None if h.succeeded() => StatusCode::Good,
        None => others,
    }
}

fn ua_to_da(table: &[(StatusCode, Hresult)], s: StatusCode) -> Hresult {
    if !s.is_bad() {
        return Hresult::S_OK;
    }
    let sub_code = s.bits() & SUB_CODE_MASK;
    table
        .iter()
        .find(|(ua, _)| ua.bits() == sub_code)
        .map_or(UA_ERROR_OTHERS, |(_, da)| *da)
}

/// Maps the HRESULT of a DA item read to the UA StatusCode of its DataValue,
/// as the COM UA Wrapper does (Table A.34).
///
/// Listed codes map as the table says; any other failure gives
/// `Bad_UnexpectedError` (row "Others"). Success codes are no errors: they
/// give `Good` (`S_OK`, `S_FALSE`, any `OPC_S_*`).
pub fn da_read_error_to_ua(h: Hresult) -> StatusCode {
    da_to_ua(DA_READ_ERRORS, DA_READ_ERROR_OTHERS, h)
}

/// Maps the HRESULT of a DA item write to the UA StatusCode of the write
/// result, as the COM UA Wrapper does (Table A.35).
///
/// Listed codes map as the table says (`OPC_S_CLAMP` gives `Good_Clamped`);
/// any other failure gives `Bad_UnexpectedError` (row "Others"); any other
/// success code gives `Good`.
pub fn da_write_error_to_ua(h: Hresult) -> StatusCode {
    da_to_ua(DA_WRITE_ERRORS, DA_WRITE_ERROR_OTHERS, h)
}

/// Maps the StatusCode of a UA read result to the DA item error, as the COM
/// UA Proxy does (Table A.38).
///
/// Good and Uncertain codes give `S_OK` (the status goes into the DA quality,
/// see [`crate::quality::ua_to_da`]); listed Bad codes map as the table says,
/// matched on the sub-code; other Bad codes give `E_FAIL`.
pub fn ua_read_status_to_da(s: StatusCode) -> Hresult {
    ua_to_da(UA_READ_ERRORS, s)
}

/// Maps the StatusCode of a UA write result to the DA item error, as the COM
/// UA Proxy does (Table A.39).
///
/// Good and Uncertain codes give `S_OK` (Table A.39 has no row for
/// `Good_Clamped`, so it gives `S_OK` too); listed Bad codes map as the table
/// says, matched on the sub-code; other Bad codes give `E_FAIL`.
pub fn ua_write_status_to_da(s: StatusCode) -> Hresult {
    ua_to_da(UA_WRITE_ERRORS, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::{StatusCodeInfoType, StatusCodeLimit, SubStatusCode};
    use proptest::prelude::*;
    use std::str::FromStr;

    /// Table A.34 transcribed verbatim from the spec text.
    const SPEC_A34: &[(&str, &str)] = &[
        ("OPC_E_BADRIGHTS", "Bad_NotReadable"),
        ("E_OUTOFMEMORY", "Bad_OutOfMemory"),
        ("OPC_E_INVALIDHANDLE", "Bad_NodeIdUnknown"),
        ("OPC_E_UNKNOWNITEMID", "Bad_NodeIdUnknown"),
        ("E_INVALIDITEMID", "Bad_NodeIdInvalid"),
        ("E_INVALID_PID", "Bad_AttributeIdInvalid"),
        ("E_ACCESSDENIED", "Bad_OutOfService"),
    ];

    /// Table A.35 transcribed verbatim from the spec text.
    const SPEC_A35: &[(&str, &str)] = &[
        ("E_BADRIGHTS", "Bad_NotWritable"),
        ("DISP_E_TYPEMISMATCH", "Bad_TypeMismatch"),
        ("E_BADTYPE", "Bad_TypeMismatch"),
        ("E_RANGE", "Bad_OutOfRange"),
        ("DISP_E_OVERFLOW", "Bad_OutOfRange"),
        ("E_OUTOFMEMORY", "Bad_OutOfMemory"),
        ("E_INVALIDHANDLE", "Bad_NodeIdUnknown"),
        ("E_UNKNOWNITEMID", "Bad_NodeIdUnknown"),
        ("E_INVALIDITEMID", "Bad_NodeIdInvalid"),
        ("E_INVALID_PID", "Bad_NodeIdInvalid"),
        ("E_NOTSUPPORTED", "Bad_WriteNotSupported"),
        ("S_CLAMP", "Good_Clamped"),
    ];

    /// Table A.38 transcribed verbatim from the spec text.
    const SPEC_A38: &[(&str, &str)] = &[
        ("Bad_OutOfMemory", "E_OUTOFMEMORY"),
        ("Bad_NodeIdInvalid", "E_INVALIDITEMID"),
        ("Bad_NodeIdUnknown", "E_UNKNOWNITEMID"),
        ("Bad_NotReadable", "E_BADRIGHTS"),
        ("Bad_UserAccessDenied", "E_ACCESSDENIED"),
        ("Bad_AttributeIdInvalid", "E_INVALIDITEMID"),
        ("Bad_UnexpectedError", "E_FAIL"),
        ("Bad_InternalError", "E_FAIL"),
        ("Bad_SessionClosed", "E_FAIL"),
        ("Bad_TypeMismatch", "E_BADTYPE"),
    ];

    /// Table A.39 transcribed verbatim from the spec text.
    const SPEC_A39: &[(&str, &str)] = &[
        ("Bad_TypeMismatch", "E_BADTYPE"),
        ("Bad_OutOfMemory", "E_OUTOFMEMORY"),
        ("Bad_NodeIdInvalid", "E_INVALIDITEMID"),
        ("Bad_NodeIdUnknown", "E_UNKNOWNITEMID"),
        ("Bad_NotWritable", "E_BADRIGHTS"),
        ("Bad_UserAccessDenied", "E_ACCESSDENIED"),
        ("Bad_AttributeIdInvalid", "E_UNKNOWNITEMID"),
        ("Bad_WriteNotSupported", "E_NOTSUPPORTED"),
        ("Bad_OutOfRange", "E_RANGE"),
    ];

    /// Resolves a spec name: the exact name if it exists, otherwise the
    /// `OPC_`-prefixed name (the tables' abbreviation of OPC DA 3.00 error codes).
    fn da_named(name: &str) -> Hresult {
        Hresult::from_name(name)
            .or_else(|| Hresult::from_name(&format!("OPC_{name}")))
            .unwrap_or_else(|| panic!("unknown HRESULT name {name}"))
    }

    fn ua_named(name: &str) -> StatusCode {
        let sub = SubStatusCode::from_str(&name.replace('_', ""))
            .unwrap_or_else(|()| panic!("unknown UA status name {name}"));
        StatusCode::from_category(sub)
    }

    /// The values of the OPC DA 3.00 error codes and the Windows COM HRESULTs.
    #[test]
    fn constants_are_the_header_values() {
        let expected: &[(&str, u32)] = &[
            ("S_OK", 0x0000_0000),
            ("S_FALSE", 0x0000_0001),
            ("E_NOTIMPL", 0x8000_4001),
            ("E_FAIL", 0x8000_4005),
            ("E_ACCESSDENIED", 0x8007_0005),
            ("E_OUTOFMEMORY", 0x8007_000E),
            ("E_INVALIDARG", 0x8007_0057),
            ("DISP_E_TYPEMISMATCH", 0x8002_0005),
            ("DISP_E_OVERFLOW", 0x8002_000A),
            ("OPC_E_INVALIDHANDLE", 0xC004_0001),
            ("OPC_E_BADTYPE", 0xC004_0004),
            ("OPC_E_PUBLIC", 0xC004_0005),
            ("OPC_E_BADRIGHTS", 0xC004_0006),
            ("OPC_E_UNKNOWNITEMID", 0xC004_0007),
            ("OPC_E_INVALIDITEMID", 0xC004_0008),
            ("OPC_E_INVALIDFILTER", 0xC004_0009),
            ("OPC_E_UNKNOWNPATH", 0xC004_000A),
            ("OPC_E_RANGE", 0xC004_000B),
            ("OPC_E_DUPLICATENAME", 0xC004_000C),
            ("OPC_S_UNSUPPORTEDRATE", 0x0004_000D),
            ("OPC_S_CLAMP", 0x0004_000E),
            ("OPC_S_INUSE", 0x0004_000F),
            ("OPC_E_INVALIDCONFIGFILE", 0xC004_0010),
            ("OPC_E_NOTFOUND", 0xC004_0011),
            ("OPC_E_INVALID_PID", 0xC004_0203),
            ("OPC_E_DEADBANDNOTSET", 0xC004_0400),
            ("OPC_E_DEADBANDNOTSUPPORTED", 0xC004_0401),
            ("OPC_E_NOBUFFERING", 0xC004_0402),
            ("OPC_E_INVALIDCONTINUATIONPOINT", 0xC004_0403),
            ("OPC_S_DATAQUEUEOVERFLOW", 0x0004_0404),
            ("OPC_E_RATENOTSET", 0xC004_0405),
            ("OPC_E_NOTSUPPORTED", 0xC004_0406),
        ];
        assert_eq!(NAMES.len(), expected.len());
        for (name, value) in expected {
            let h = Hresult::from_name(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(h.0, *value, "{name}");
            assert_eq!(h.name(), Some(*name));
            assert_eq!(h.succeeded(), name.contains("S_"), "{name}");
        }
    }

    #[test]
    fn display_and_name() {
        assert_eq!(Hresult::OPC_E_BADRIGHTS.name(), Some("OPC_E_BADRIGHTS"));
        assert_eq!(
            Hresult::OPC_E_BADRIGHTS.to_string(),
            "OPC_E_BADRIGHTS (0xC0040006)"
        );
        assert_eq!(Hresult::S_OK.to_string(), "S_OK (0x00000000)");
        assert_eq!(Hresult(0x8000_FFFF).name(), None);
        assert_eq!(Hresult(0x8000_FFFF).to_string(), "0x8000FFFF");
        assert_eq!(
            format!("{:?}", Hresult::E_FAIL),
            "Hresult(E_FAIL (0x80004005))"
        );
        assert!(Hresult::OPC_S_CLAMP.succeeded());
        assert!(Hresult::E_FAIL.failed());
    }

    fn check_spec<A: PartialEq + fmt::Debug, B: PartialEq + fmt::Debug>(
        table: &[(A, B)],
        spec: &[(&str, &str)],
        left: fn(&str) -> A,
        right: fn(&str) -> B,
    ) {
        assert_eq!(table.len(), spec.len());
        for ((a, b), (sa, sb)) in table.iter().zip(spec) {
            assert_eq!(*a, left(sa), "row {sa}");
            assert_eq!(*b, right(sb), "row {sa}");
        }
    }

    #[test]
    fn tables_match_spec_text() {
        check_spec(DA_READ_ERRORS, SPEC_A34, da_named, ua_named);
        check_spec(DA_WRITE_ERRORS, SPEC_A35, da_named, ua_named);
        check_spec(UA_READ_ERRORS, SPEC_A38, ua_named, da_named);
        check_spec(UA_WRITE_ERRORS, SPEC_A39, ua_named, da_named);
    }

    #[test]
    fn every_a34_row_maps_as_written() {
        for (h, s) in DA_READ_ERRORS {
            assert_eq!(da_read_error_to_ua(*h), *s, "Table A.34 row {h}");
        }
        assert_eq!(
            da_read_error_to_ua(Hresult::E_FAIL),
            StatusCode::BadUnexpectedError
        );
    }

    #[test]
    fn every_a35_row_maps_as_written() {
        for (h, s) in DA_WRITE_ERRORS {
            assert_eq!(da_write_error_to_ua(*h), *s, "Table A.35 row {h}");
        }
        assert_eq!(
            da_write_error_to_ua(Hresult::E_ACCESSDENIED),
            StatusCode::BadUnexpectedError
        );
    }

    #[test]
    fn every_a38_row_maps_as_written() {
        for (s, h) in UA_READ_ERRORS {
            assert_eq!(ua_read_status_to_da(*s), *h, "Table A.38 row {s}");
        }
    }

    #[test]
    fn every_a39_row_maps_as_written() {
        for (s, h) in UA_WRITE_ERRORS {
            assert_eq!(ua_write_status_to_da(*s), *h, "Table A.39 row {s}");
        }
    }

    #[test]
    fn key_rows_spelled_out() {
        assert_eq!(
            da_read_error_to_ua(Hresult::E_ACCESSDENIED),
            StatusCode::BadOutOfService
        );
        assert_eq!(
            da_write_error_to_ua(Hresult::OPC_S_CLAMP),
            StatusCode::GoodClamped
        );
        assert_eq!(
            ua_read_status_to_da(StatusCode::BadAttributeIdInvalid),
            Hresult::OPC_E_INVALIDITEMID
        );
        assert_eq!(
            ua_write_status_to_da(StatusCode::BadAttributeIdInvalid),
            Hresult::OPC_E_UNKNOWNITEMID
        );
    }

    #[test]
    fn good_and_uncertain_give_s_ok() {
        for s in [
            StatusCode::Good,
            StatusCode::GoodClamped,
            StatusCode::GoodLocalOverride,
            StatusCode::Uncertain,
            StatusCode::UncertainLastUsableValue,
        ] {
            assert_eq!(ua_read_status_to_da(s), Hresult::S_OK, "{s}");
            assert_eq!(ua_write_status_to_da(s), Hresult::S_OK, "{s}");
        }
        assert_eq!(da_read_error_to_ua(Hresult::S_OK), StatusCode::Good);
        assert_eq!(da_write_error_to_ua(Hresult::S_OK), StatusCode::Good);
        assert_eq!(da_read_error_to_ua(Hresult::S_FALSE), StatusCode::Good);
        assert_eq!(da_read_error_to_ua(Hresult::OPC_S_CLAMP), StatusCode::Good);
    }

    #[test]
    fn unlisted_bad_codes_give_e_fail() {
        assert_eq!(
            ua_read_status_to_da(StatusCode::BadNotWritable),
            Hresult::E_FAIL
        );
        assert_eq!(
            ua_write_status_to_da(StatusCode::BadNotReadable),
            Hresult::E_FAIL
        );
        assert_eq!(
            ua_write_status_to_da(StatusCode::BadInternalError),
            Hresult::E_FAIL
        );
        assert_eq!(ua_read_status_to_da(StatusCode::Bad), Hresult::E_FAIL);
    }

    #[test]
    fn info_bits_do_not_defeat_the_lookup() {
        let s = StatusCode::BadOutOfRange
            .set_info_type(StatusCodeInfoType::DataValue)
            .set_limit(StatusCodeLimit::High);
        assert_eq!(ua_write_status_to_da(s), Hresult::OPC_E_RANGE);
    }

    /// Which UA rows of Tables A.38/A.39 come back unchanged through Tables
    /// A.34/A.35; the others are listed explicitly.
    #[test]
    fn ua_error_round_trips() {
        let read_lost: Vec<StatusCode> = UA_READ_ERRORS
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| da_read_error_to_ua(ua_read_status_to_da(*s)) != *s)
            .collect();
        assert_eq!(
            read_lost,
            vec![
                StatusCode::BadUserAccessDenied, // → E_ACCESSDENIED → Bad_OutOfService
                StatusCode::BadAttributeIdInvalid, // → OPC_E_INVALIDITEMID → Bad_NodeIdInvalid
                StatusCode::BadInternalError,    // → E_FAIL → Bad_UnexpectedError
                StatusCode::BadSessionClosed,    // → E_FAIL → Bad_UnexpectedError
                StatusCode::BadTypeMismatch, // → OPC_E_BADTYPE, not in A.34 → Bad_UnexpectedError
            ]
        );
        let write_lost: Vec<StatusCode> = UA_WRITE_ERRORS
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| da_write_error_to_ua(ua_write_status_to_da(*s)) != *s)
            .collect();
        assert_eq!(
            write_lost,
            vec![
                StatusCode::BadUserAccessDenied, // → E_ACCESSDENIED, not in A.35 → Bad_UnexpectedError
                StatusCode::BadAttributeIdInvalid, // → OPC_E_UNKNOWNITEMID → Bad_NodeIdUnknown
            ]
        );
    }

    proptest! {
        /// DA → UA is total: listed codes as the table says, other failures
        /// the "Others" row, other successes Good.
        #[test]
        fn da_to_ua_is_total(bits in any::<u32>()) {
            let h = Hresult(bits);
            for (table, others, f) in [
                (DA_READ_ERRORS, DA_READ_ERROR_OTHERS, da_read_error_to_ua as fn(Hresult) -> StatusCode),
                (DA_WRITE_ERRORS, DA_WRITE_ERROR_OTHERS, da_write_error_to_ua as fn(Hresult) -> StatusCode),
            ] {
                let s = f(h);
                match table.iter().find(|(da, _)| *da == h) {
                    Some((_, ua)) => prop_assert_eq!(s, *ua),
                    None if h.failed() => prop_assert_eq!(s, others),
                    None => prop_assert_eq!(s, StatusCode::Good),
                }
                prop_assert_eq!(s.is_bad(), h.failed());
            }
        }

        /// UA → DA is total and a DA failure exactly when the code is Bad.
        #[test]
        fn ua_to_da_is_total(bits in any::<u32>()) {
            let s = StatusCode::from(bits);
            for h in [ua_read_status_to_da(s), ua_write_status_to_da(s)] {
                prop_assert_eq!(h.failed(), s.is_bad());
                if !s.is_bad() {
                    prop_assert_eq!(h, Hresult::S_OK);
                }
            }
        }
    }
}
