//! Modbus exceptions ↔ OPC UA status codes.

use opcua::types::StatusCode;
use tokio_modbus::ExceptionCode;

/// The status a tag gets when the device answers its read or write with `exc`.
pub fn exception_status(exc: ExceptionCode) -> StatusCode {
    match exc {
        ExceptionCode::IllegalFunction => StatusCode::BadNotSupported,
        ExceptionCode::IllegalDataAddress | ExceptionCode::IllegalDataValue => StatusCode::BadOutOfRange,
        ExceptionCode::ServerDeviceFailure | ExceptionCode::MemoryParityError => StatusCode::BadDeviceFailure,
        ExceptionCode::Acknowledge | ExceptionCode::ServerDeviceBusy => StatusCode::BadResourceUnavailable,
        ExceptionCode::GatewayPathUnavailable | ExceptionCode::GatewayTargetDevice => StatusCode::BadNoCommunication,
        ExceptionCode::Custom(_) => StatusCode::BadDeviceFailure,
    }
}

/// The exception the Modbus server answers when a write to a tag ends with `status`.
pub fn write_exception(status: StatusCode) -> ExceptionCode {
    let s = status.sub_code();
    if s == StatusCode::BadNotWritable.sub_code()
        || s == StatusCode::BadNodeIdUnknown.sub_code()
        || s == StatusCode::BadUserAccessDenied.sub_code()
    {
        ExceptionCode::IllegalDataAddress
    } else if s == StatusCode::BadOutOfRange.sub_code() || s == StatusCode::BadTypeMismatch.sub_code() {
        ExceptionCode::IllegalDataValue
    } else if s == StatusCode::BadNoCommunication.sub_code() || s == StatusCode::BadTimeout.sub_code() {
        ExceptionCode::GatewayTargetDevice
    } else {
        ExceptionCode::ServerDeviceFailure
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_map_as_documented() {
        assert_eq!(exception_status(ExceptionCode::IllegalDataAddress), StatusCode::BadOutOfRange);
        assert_eq!(exception_status(ExceptionCode::ServerDeviceFailure), StatusCode::BadDeviceFailure);
        assert_eq!(exception_status(ExceptionCode::GatewayTargetDevice), StatusCode::BadNoCommunication);
        assert_eq!(exception_status(ExceptionCode::IllegalFunction), StatusCode::BadNotSupported);
        assert_eq!(write_exception(StatusCode::BadNotWritable), ExceptionCode::IllegalDataAddress);
        assert_eq!(write_exception(StatusCode::BadOutOfRange), ExceptionCode::IllegalDataValue);
        assert_eq!(write_exception(StatusCode::BadInternalError), ExceptionCode::ServerDeviceFailure);
    }
}
