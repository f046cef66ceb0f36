//! The ConnectionManagerConfiguration file (OPC 10000-81 Annex F): a FileType
//! (OPC 10000-20) whose content is a UABinaryFileDataType holding one
//! ConnectionConfigurationSetConfDataType per set.
//!
//! - Open with Read (0x01) encodes the sets as they are now; with Write + EraseExisting (0x06)
//!   starts an empty buffer. Other modes: Bad_InvalidArgument (F.3.2).
//! - Read, Write, GetPosition and SetPosition work on the handle's buffer; handles belong to the
//!   session that opened them and go when it ends.
//! - Close discards; CloseAndUpdate ([`update`]) applies the written sets.
//!
//! - [`nodes`]: the object, its properties and methods.
//! - [`handles`]: the open handles.
//! - [`codec`]: the UABinaryFileDataType content.
//! - [`to_config`] / [`from_config`]: ConnectionConfigurationSetConfDataType ↔ the sets'
//!   configuration.
//! - [`update`]: the CloseAndUpdate method.

pub mod codec;
pub mod from_config;
pub mod handles;
pub mod nodes;
pub mod to_config;
pub mod update;

use opcua::server::address_space::AddressSpace;
use opcua::server::node_manager::{MethodCall, RequestContext};
use opcua::sync::RwLock;
use opcua::types::{ByteString, StatusCode, Variant};

use crate::node_manager::FxNodeManagerImpl;
pub use handles::{Handles, Mode};
pub use nodes::ConfigFile;

/// Open mode Read.
pub const READ: u8 = 0x01;
/// Open mode Write + EraseExisting.
pub const WRITE_ERASE: u8 = 0x06;

/// The largest content a handle holds (Write beyond: Bad_ResourceUnavailable).
pub const MAX_SIZE: usize = 16 * 1024 * 1024;

/// Runs a FileType method of the file (`method` is one of [`ConfigFile::method`]'s).
pub async fn call(
    nm: &FxNodeManagerImpl,
    space: &RwLock<AddressSpace>,
    call: &mut MethodCall,
    context: &RequestContext,
    method: nodes::Method,
) {
    let Some(cm) = nm.connection_manager() else {
        call.set_status(StatusCode::BadMethodInvalid);
        return;
    };
    let file = &cm.file;
    let session = handles::Owner::of(context);
    let a = call.arguments().to_vec();
    let handle = || match a.first() {
        Some(Variant::UInt32(h)) => Ok(*h),
        _ => Err(StatusCode::BadInvalidArgument),
    };
    let outcome: Result<Vec<Variant>, StatusCode> = match method {
        nodes::Method::Open => match a.first() {
            Some(Variant::Byte(READ)) => {
                let content = codec::current(nm);
                match content {
                    Ok(bytes) => file.handles.open(session, Mode::Read, bytes).map(|h| vec![h.into()]),
                    Err(e) => {
                        tracing::warn!(error = %e, "FX ConnectionManagerConfiguration: encoding the sets");
                        Err(StatusCode::BadInternalError)
                    }
                }
            }
            Some(Variant::Byte(WRITE_ERASE)) => file.handles.open(session, Mode::Write, Vec::new()).map(|h| vec![h.into()]),
            Some(Variant::Byte(_)) => Err(StatusCode::BadInvalidArgument),
            _ => Err(StatusCode::BadTypeMismatch),
        },
        nodes::Method::Close => handle().and_then(|h| file.handles.close(&session, h).map(|_| vec![])),
        nodes::Method::Read => match (handle(), a.get(1)) {
            (Ok(h), Some(Variant::Int32(n))) => file.handles.read(&session, h, *n).map(|d| vec![ByteString::from(d).into()]),
            _ => Err(StatusCode::BadInvalidArgument),
        },
        nodes::Method::Write => match (handle(), a.get(1)) {
            (Ok(h), Some(Variant::ByteString(d))) => {
                file.handles.write(&session, h, d.value.as_deref().unwrap_or_default()).map(|_| vec![])
            }
            _ => Err(StatusCode::BadInvalidArgument),
        },
        nodes::Method::GetPosition => handle().and_then(|h| file.handles.position(&session, h).map(|p| vec![p.into()])),
        nodes::Method::SetPosition => match (handle(), a.get(1)) {
            (Ok(h), Some(Variant::UInt64(p))) => file.handles.set_position(&session, h, *p).map(|_| vec![]),
            _ => Err(StatusCode::BadInvalidArgument),
        },
        nodes::Method::CloseAndUpdate => {
            update::call(nm, space, call, &session).await;
            file.publish(nm, space);
            return;
        }
    };
    match outcome {
        Ok(out) => {
            call.set_status(StatusCode::Good);
            call.set_outputs(out);
        }
        Err(s) => call.set_status(s),
    }
    file.publish(nm, space);
}
