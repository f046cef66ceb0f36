//! Who may write which tag beyond the tag's own access mode: a guard an extension installs on
//! the store (OPC UA FX ControlGroups: ListToBlock and ListToRestrict), asked for every write
//! with the identity of the caller.

use opcua::types::StatusCode;

use crate::TagId;

/// Who asks for a write: the client application and user of an OPC UA session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The client's ApplicationUri (from CreateSession).
    pub client: String,
    /// The user the session authenticated as (empty: anonymous).
    pub user: String,
}

/// Decides whether a write may go to the source.
pub trait WriteGuard: Send + Sync {
    /// Why a write of `tag` by `caller` is refused (None: it may go on). `caller` is None for
    /// writes that come from no OPC UA session (other sinks: Modbus, IEC 104, the DA API…).
    fn refuse(&self, tag: TagId, caller: Option<&Caller>) -> Option<StatusCode>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccessMode, TagDef, TagStoreBuilder};
    use opcua::types::{DataTypeId, Variant};

    /// Refuses everyone but client `ok`.
    struct OnlyOk;

    impl WriteGuard for OnlyOk {
        fn refuse(&self, _tag: TagId, caller: Option<&Caller>) -> Option<StatusCode> {
            (caller.map(|c| c.client.as_str()) != Some("ok")).then_some(StatusCode::BadLocked)
        }
    }

    #[tokio::test]
    async fn the_guard_decides_before_the_source_is_asked() {
        let mut b = TagStoreBuilder::new();
        let def = TagDef {
            source: "S".into(),
            name: "T".into(),
            data_type: DataTypeId::Double,
            access: AccessMode::ReadWrite,
            description: String::new(),
            meta: None,
        };
        let id = b.add_tag(def).expect("tag");
        let mut rx = b.add_writer("S").expect("writer");
        let store = b.build();
        assert!(store.set_write_guard(std::sync::Arc::new(OnlyOk)));
        assert!(!store.set_write_guard(std::sync::Arc::new(OnlyOk)), "one guard");
        assert_eq!(store.write(id, Variant::Double(1.0)).await, StatusCode::BadLocked, "no session");
        let other = Caller { client: "other".into(), user: String::new() };
        assert_eq!(store.write_as(id, Variant::Double(1.0), Some(&other)).await, StatusCode::BadLocked);
        assert!(rx.try_recv().is_err(), "refused writes never reach the source");
        let ok = Caller { client: "ok".into(), user: "u".into() };
        let answer = tokio::spawn(async move {
            if let Some(req) = rx.recv().await {
                req.answer(StatusCode::Good);
            }
        });
        assert_eq!(store.write_as(id, Variant::Double(2.0), Some(&ok)).await, StatusCode::Good);
        let _ = answer.await;
    }
}
