//! The HTTP routes of the item API (contract: `docs/interfaces.md`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode as Http};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use fxgate_da::errors::{ua_read_status_to_da, ua_write_status_to_da, Hresult};
use fxgate_da::properties::{available_properties, UaVariableInfo};
use fxgate_da::quality::ua_to_da;
use fxgate_da::types::{da_to_ua_value, ua_to_da_type, ua_to_da_value};
use opcua::client::Session;
use opcua::types::{
    AttributeId, BrowseDescription, BrowseDirection, BrowsePath, DataValue, EUInformation,
    NodeClass, NodeId, ObjectId, QualifiedName, Range,
    ReadValueId, ReferenceTypeId, RelativePath, RelativePathElement, StatusCode,
    TimestampsToReturn, Variant, WriteValue,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::json::{from_json, to_json};
use crate::sessions::{ApiSession, Identity, InternalClient, SessionError};

pub(crate) type Api = Arc<InternalClient>;

/// The `/da/…` routes, to be merged into the HTTP listener's router.
pub fn router(client: Arc<InternalClient>) -> Router {
    Router::new()
        .route("/da/browse", get(browse))
        .route("/da/items/{item_id}", get(item))
        .route("/da/read", post(read))
        .route("/da/write", post(write))
        .route("/da/subscribe", get(crate::group::subscribe))
        .with_state(client)
}

pub(crate) fn hresult_name(h: Hresult) -> String {
    h.name().map_or_else(|| format!("0x{:08X}", h.0), str::to_string)
}

/// A request that failed as a whole: an HTTP status with the DA error code.
pub(crate) struct ApiError {
    http: Http,
    code: Hresult,
    detail: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.http, Json(json!({"error": hresult_name(self.code), "detail": self.detail}))).into_response()
    }
}

fn error(http: Http, code: Hresult, detail: impl Into<String>) -> ApiError {
    ApiError {
        http,
        code,
        detail: detail.into(),
    }
}

fn identity(headers: &HeaderMap) -> Result<Identity, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(Identity::Anonymous);
    };
    let bad = || error(Http::UNAUTHORIZED, Hresult::E_ACCESSDENIED, "malformed Authorization header");
    let text = value.to_str().map_err(|_| bad())?;
    let encoded = text.strip_prefix("Basic ").ok_or_else(bad)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad())?;
    let pair = String::from_utf8(decoded).map_err(|_| bad())?;
    let (user, pass) = pair.split_once(':').ok_or_else(bad)?;
    Ok(Identity::User(user.to_string(), pass.to_string()))
}

pub(crate) async fn session(api: &Api, headers: &HeaderMap) -> Result<ApiSession, ApiError> {
    let who = identity(headers)?;
    api.session(&who).await.map_err(|e| match e {
        SessionError::Refused(s) => error(Http::UNAUTHORIZED, Hresult::E_ACCESSDENIED, refusal(&who, s)),
        SessionError::Unavailable(m) => error(Http::SERVICE_UNAVAILABLE, Hresult::E_FAIL, m),
    })
}

/// What a refused login means, for the one who tried: an unknown user and a wrong password
/// read the same (nothing tells which names exist).
fn refusal(who: &Identity, status: opcua::types::StatusCode) -> String {
    use opcua::types::StatusCode as S;
    let what = match (who, status) {
        // The client's own verdict: the server offers no token of that kind.
        (Identity::Anonymous, S::BadSecurityPolicyRejected) | (Identity::Anonymous, S::BadIdentityTokenRejected) => {
            "anonymous access is disabled: log in with HTTP Basic (a [[users]] entry)"
        }
        (Identity::User(..), S::BadSecurityPolicyRejected) => {
            "this gateway has no users to log in as: add a [[users]] entry (`fxgate users hash` makes its password_hash)"
        }
        (Identity::User(..), _) => "unknown user or wrong password",
        (Identity::Anonymous, _) => "anonymous access refused",
    };
    format!("login refused: {what} ({status})")
}

#[derive(Deserialize)]
struct BrowseQuery {
    branch: Option<String>,
}

async fn browse(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(q): Query<BrowseQuery>,
) -> Result<Response, ApiError> {
    let ApiSession { session, ns } = session(&api, &headers).await?;
    let branch = q.branch.unwrap_or_else(|| ns.item_id(&ObjectId::ObjectsFolder.into()));
    let node = match ns.node_id(&branch) {
        Ok(n) => n,
        Err(e) => return Err(error(Http::BAD_REQUEST, Hresult::OPC_E_INVALIDITEMID, e.to_string())),
    };
    let desc = BrowseDescription {
        node_id: node,
        browse_direction: BrowseDirection::Forward,
        reference_type_id: ReferenceTypeId::HierarchicalReferences.into(),
        include_subtypes: true,
        node_class_mask: (NodeClass::Object as u32) | (NodeClass::Variable as u32),
        result_mask: 0x3f,
    };
    let mut refs = Vec::new();
    let mut result = match session.browse(&[desc], 0, None).await {
        Ok(mut r) if !r.is_empty() => r.remove(0),
        Ok(_) => return Err(error(Http::BAD_GATEWAY, Hresult::E_FAIL, "empty browse result")),
        Err(e) => return Err(error(Http::BAD_GATEWAY, Hresult::E_FAIL, e.to_string())),
    };
    loop {
        if result.status_code.is_bad() {
            let (http, h) = match result.status_code {
                StatusCode::BadNodeIdUnknown => (Http::NOT_FOUND, Hresult::OPC_E_UNKNOWNPATH),
                StatusCode::BadNodeIdInvalid => (Http::BAD_REQUEST, Hresult::OPC_E_INVALIDITEMID),
                s => (Http::BAD_GATEWAY, ua_read_status_to_da(s)),
            };
            return Err(error(http, h, result.status_code.to_string()));
        }
        refs.extend(result.references.take().unwrap_or_default());
        if result.continuation_point.is_null_or_empty() {
            break;
        }
        result = match session.browse_next(false, &[result.continuation_point.clone()]).await {
            Ok(mut r) if !r.is_empty() => r.remove(0),
            Ok(_) => break,
            Err(e) => return Err(error(Http::BAD_GATEWAY, Hresult::E_FAIL, e.to_string())),
        };
    }
    let has_property: NodeId = ReferenceTypeId::HasProperty.into();
    let (mut branches, mut items) = (Vec::new(), Vec::new());
    for r in refs {
        if r.reference_type_id == has_property || !is_local(&r.node_id) {
            continue; // DA properties are not items (A.4.2.1); remote nodes have no ItemID
        }
        let entry = json!({
            "name": r.display_name.text.as_ref(),
            "item_id": ns.item_id(&r.node_id.node_id),
        });
        match r.node_class {
            NodeClass::Object => branches.push(entry),
            NodeClass::Variable => items.push(entry),
            _ => {}
        }
    }
    // The address space keeps references unordered; DA browsers expect a stable listing.
    let by_name = |a: &Value, b: &Value| a["name"].as_str().cmp(&b["name"].as_str());
    branches.sort_by(by_name);
    items.sort_by(by_name);
    Ok(Json(json!({"branch": branch, "branches": branches, "items": items})).into_response())
}

#[derive(Deserialize)]
struct ItemQuery {
    properties: Option<u8>,
}

async fn item(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(item_id): Path<String>,
    Query(q): Query<ItemQuery>,
) -> Result<Response, ApiError> {
    let api_session = session(&api, &headers).await?;
    let with_props = q.properties.unwrap_or(0) != 0;
    let mut results = read_items(&api_session, std::slice::from_ref(&item_id), with_props).await?;
    let result = results.pop().unwrap_or(Value::Null);
    let http = match result["error"].as_str() {
        Some("S_OK") => Http::OK,
        Some("OPC_E_UNKNOWNITEMID") => Http::NOT_FOUND,
        Some("OPC_E_INVALIDITEMID") => Http::BAD_REQUEST,
        Some("E_ACCESSDENIED") | Some("OPC_E_BADRIGHTS") => Http::FORBIDDEN,
        _ => Http::BAD_GATEWAY,
    };
    Ok((http, Json(result)).into_response())
}

#[derive(Deserialize)]
struct ReadBody {
    items: Vec<String>,
}

async fn read(State(api): State<Api>, headers: HeaderMap, Json(body): Json<ReadBody>) -> Result<Response, ApiError> {
    let api_session = session(&api, &headers).await?;
    let results = read_items(&api_session, &body.items, false).await?;
    Ok(Json(json!({"results": results})).into_response())
}

/// Attributes read for every item, and the extra ones for its properties.
const BASE_ATTRS: [AttributeId; 3] = [AttributeId::Value, AttributeId::DataType, AttributeId::ValueRank];
const PROP_ATTRS: [AttributeId; 6] = [
    AttributeId::AccessLevel,
    AttributeId::UserAccessLevel,
    AttributeId::MinimumSamplingInterval,
    AttributeId::Description,
    AttributeId::DisplayName,
    AttributeId::BrowseName,
];
/// UA properties the DA properties come from (Table A.31).
const UA_PROPS: [&str; 6] = ["EURange", "InstrumentRange", "EngineeringUnits", "TrueState", "FalseState", "EnumStrings"];

fn rv(node: &NodeId, attr: AttributeId) -> ReadValueId {
    ReadValueId {
        node_id: node.clone(),
        attribute_id: attr as u32,
        ..Default::default()
    }
}

async fn read_items(api_session: &ApiSession, ids: &[String], with_props: bool) -> Result<Vec<Value>, ApiError> {
    let session = &*api_session.session;
    let parsed: Vec<_> = ids.iter().map(|s| api_session.ns.node_id(s)).collect();
    let attrs: Vec<AttributeId> = if with_props {
        BASE_ATTRS.iter().chain(PROP_ATTRS.iter()).copied().collect()
    } else {
        BASE_ATTRS.to_vec()
    };
    let nodes: Vec<&NodeId> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
    let to_read: Vec<ReadValueId> = nodes
        .iter()
        .flat_map(|n| attrs.iter().map(move |a| rv(n, *a)))
        .collect();
    let values = if to_read.is_empty() {
        Vec::new()
    } else {
        session
            .read(&to_read, TimestampsToReturn::Both, 0.0)
            .await
            .map_err(|e| error(Http::BAD_GATEWAY, Hresult::E_FAIL, e.to_string()))?
    };
    let mut chunks = values.chunks(attrs.len());
    let mut out = Vec::with_capacity(ids.len());
    for (id, p) in ids.iter().zip(&parsed) {
        let Ok(node) = p else {
            out.push(json!({"item_id": id, "error": hresult_name(Hresult::OPC_E_INVALIDITEMID)}));
            continue;
        };
        let Some(dvs) = chunks.next() else {
            out.push(json!({"item_id": id, "error": hresult_name(Hresult::E_FAIL)}));
            continue;
        };
        let props = if with_props { ua_properties(session, node).await } else { Default::default() };
        out.push(item_json(id, dvs, with_props, props));
    }
    Ok(out)
}

/// Values of the UA properties in [`UA_PROPS`] a node has.
async fn ua_properties(session: &Session, node: &NodeId) -> Vec<Option<Variant>> {
    let paths: Vec<BrowsePath> = UA_PROPS
        .iter()
        .map(|name| BrowsePath {
            starting_node: node.clone(),
            relative_path: RelativePath {
                elements: Some(vec![RelativePathElement {
                    reference_type_id: ReferenceTypeId::HasProperty.into(),
                    is_inverse: false,
                    include_subtypes: true,
                    target_name: QualifiedName::new(0, *name),
                }]),
            },
        })
        .collect();
    let Ok(found) = session.translate_browse_paths_to_node_ids(&paths).await else {
        return vec![None; UA_PROPS.len()];
    };
    let targets: Vec<Option<NodeId>> = found
        .iter()
        .map(|r| {
            r.targets
                .as_ref()
                .and_then(|t| t.first())
                .filter(|t| r.status_code.is_good() && is_local(&t.target_id))
                .map(|t| t.target_id.node_id.clone())
        })
        .collect();
    let reads: Vec<ReadValueId> = targets.iter().flatten().map(|n| rv(n, AttributeId::Value)).collect();
    let mut values = match session.read(&reads, TimestampsToReturn::Neither, 0.0).await {
        Ok(v) => v.into_iter(),
        Err(_) => return vec![None; UA_PROPS.len()],
    };
    targets
        .iter()
        .map(|t| t.as_ref().and_then(|_| values.next()).and_then(|dv| dv.value))
        .collect()
}

fn range(v: &Option<Variant>) -> Option<(f64, f64)> {
    match v {
        Some(Variant::ExtensionObject(eo)) => eo.inner_as::<Range>().map(|r| (r.low, r.high)),
        _ => None,
    }
}

fn text(v: &Option<Variant>) -> Option<String> {
    match v {
        Some(Variant::LocalizedText(t)) => Some(t.text.as_ref().to_string()),
        _ => None,
    }
}

fn item_json(id: &str, dvs: &[DataValue], with_props: bool, props: Vec<Option<Variant>>) -> Value {
    let value_dv = &dvs[0];
    let status = value_dv.status.unwrap_or(StatusCode::Good);
    if matches!(
        status,
        StatusCode::BadNodeIdUnknown
            | StatusCode::BadNodeIdInvalid
            | StatusCode::BadAttributeIdInvalid
            | StatusCode::BadNotReadable
            | StatusCode::BadUserAccessDenied
    ) {
        return json!({"item_id": id, "error": hresult_name(ua_read_status_to_da(status))});
    }
    let data_type = match dvs.get(1).and_then(|d| d.value.as_ref()) {
        Some(Variant::NodeId(n)) => (**n).clone(),
        _ => NodeId::null(),
    };
    let value_rank = match dvs.get(2).and_then(|d| d.value.as_ref()) {
        Some(Variant::Int32(r)) => *r,
        _ => -1,
    };
    let mut out = vqt(id, value_dv, Some(ua_to_da_type(&data_type, value_rank).to_string()));
    if with_props {
        let attr = |i: usize| dvs.get(i).and_then(|d| d.value.clone());
        let byte = |v: Option<Variant>| match v {
            Some(Variant::Byte(b)) => b,
            _ => 0,
        };
        let info = UaVariableInfo {
            data_type,
            value_rank,
            access_level: byte(attr(3)),
            user_access_level: byte(attr(4)),
            minimum_sampling_interval: match attr(5) {
                Some(Variant::Double(d)) => Some(d),
                _ => None,
            },
            description: text(&attr(6)).filter(|s| !s.is_empty()),
            display_name: text(&attr(7)),
            browse_name: match attr(8) {
                Some(Variant::QualifiedName(q)) => Some(*q),
                _ => None,
            },
            value: Some(value_dv.clone()),
            eu_range: range(&props[0]),
            instrument_range: range(props.get(1).unwrap_or(&None)),
            engineering_units: match props.get(2) {
                Some(Some(Variant::ExtensionObject(eo))) => {
                    eo.inner_as::<EUInformation>().map(|u| u.display_name.text.as_ref().to_string())
                }
                _ => None,
            },
            true_state: text(props.get(3).unwrap_or(&None)),
            false_state: text(props.get(4).unwrap_or(&None)),
            enum_strings: match props.get(5) {
                Some(Some(Variant::Array(a))) => Some(
                    a.values
                        .iter()
                        .map(|v| match v {
                            Variant::LocalizedText(t) => t.text.as_ref().to_string(),
                            other => other.to_string(),
                        })
                        .collect(),
                ),
                _ => None,
            },
            ..Default::default()
        };
        let list: Vec<Value> = available_properties(&info)
            .into_iter()
            .map(|p| json!({"id": p.id, "name": p.name, "type": p.var_type.to_string(), "value": to_json(&p.value)}))
            .collect();
        out["properties"] = Value::Array(list);
    }
    out
}

#[derive(Deserialize)]
struct WriteItem {
    item_id: String,
    value: Value,
}

#[derive(Deserialize)]
struct WriteBody {
    items: Vec<WriteItem>,
}

async fn write(State(api): State<Api>, headers: HeaderMap, Json(body): Json<WriteBody>) -> Result<Response, ApiError> {
    let ApiSession { session, ns } = session(&api, &headers).await?;
    let parsed: Vec<_> = body.items.iter().map(|i| ns.node_id(&i.item_id)).collect();
    // The DataType of each target decides how the JSON value is converted.
    let type_reads: Vec<ReadValueId> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .map(|n| rv(n, AttributeId::DataType))
        .collect();
    let types = if type_reads.is_empty() {
        Vec::new()
    } else {
        match session.read(&type_reads, TimestampsToReturn::Neither, 0.0).await {
            Ok(t) => t,
            Err(e) => return Err(error(Http::BAD_GATEWAY, Hresult::E_FAIL, e.to_string())),
        }
    };
    let mut types = types.into_iter();
    let mut results: Vec<Option<Hresult>> = vec![None; body.items.len()];
    let mut writes = Vec::new();
    let mut slots = Vec::new();
    for (i, (item, p)) in body.items.iter().zip(&parsed).enumerate() {
        let Ok(node) = p else {
            results[i] = Some(Hresult::OPC_E_INVALIDITEMID);
            continue;
        };
        let dt = types.next().unwrap_or_default();
        if let Some(s) = dt.status.filter(|s| s.is_bad()) {
            results[i] = Some(ua_write_status_to_da(s));
            continue;
        }
        let target = match &dt.value {
            Some(Variant::NodeId(n)) => n.as_data_type_id().ok(),
            _ => None,
        };
        match da_to_ua_value(&from_json(&item.value), target) {
            Ok(v) => {
                writes.push(WriteValue {
                    node_id: node.clone(),
                    attribute_id: AttributeId::Value as u32,
                    index_range: Default::default(),
                    value: DataValue::value_only(v),
                });
                slots.push(i);
            }
            Err(e) => {
                results[i] = Some(if e.is_out_of_range() { Hresult::OPC_E_RANGE } else { Hresult::OPC_E_BADTYPE });
            }
        }
    }
    if !writes.is_empty() {
        match session.write(&writes).await {
            Ok(statuses) => {
                for (slot, s) in slots.into_iter().zip(statuses) {
                    results[slot] = Some(ua_write_status_to_da(s));
                }
            }
            Err(e) => return Err(error(Http::BAD_GATEWAY, Hresult::E_FAIL, e.to_string())),
        }
    }
    let out: Vec<Value> = body
        .items
        .iter()
        .zip(results)
        .map(|(item, r)| json!({"item_id": item.item_id, "error": hresult_name(r.unwrap_or(Hresult::E_FAIL))}))
        .collect();
    Ok(Json(json!({"results": out})).into_response())
}

/// An item's value, DA quality and timestamp (and canonical type when known) as JSON.
pub(crate) fn vqt(id: &str, dv: &DataValue, canonical_type: Option<String>) -> Value {
    let quality = ua_to_da(dv.status.unwrap_or(StatusCode::Good));
    // The same conversion as the DA timestamp property (4): through the OLE date, to the ms.
    let timestamp = dv
        .source_timestamp
        .or(dv.server_timestamp)
        .map(|t| to_json(&fxgate_da::types::DaValue::Date(fxgate_da::types::ole_date_from_ua(&t))));
    let mut out = json!({
        "item_id": id,
        "value": dv.value.as_ref().map_or(Value::Null, |v| to_json(&ua_to_da_value(v))),
        "quality": quality.0,
        "quality_text": quality.to_string(),
        "timestamp": timestamp,
        "error": "S_OK",
    });
    if let Some(t) = canonical_type {
        out["canonical_type"] = json!(t);
    }
    out
}

/// A node of this server (no server index, no namespace URI to resolve).
fn is_local(id: &opcua::types::ExpandedNodeId) -> bool {
    id.server_index == 0 && id.namespace_uri.is_empty()
}
