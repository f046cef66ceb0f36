//! `GET /da/subscribe`: a DA group over a WebSocket (A.4.5 maps groups to subscriptions).
//! One group per socket: the first message names the items, the update rate and the
//! percent deadband; then every change arrives as a VQT with its DA quality.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use fxgate_da::errors::Hresult;
use opcua::client::{DataChangeCallback, MonitoredItem, Session};
use opcua::types::{
    AttributeId, DataChangeFilter, DataChangeTrigger, DataValue, DeadbandType, ExtensionObject,
    MonitoredItemCreateRequest, MonitoringMode, MonitoringParameters, ReadValueId, StatusCode,
    TimestampsToReturn,
};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::handlers::{hresult_name, session, vqt, Api, ApiError};
use crate::ns_map::NsMap;
use crate::sessions::ApiSession;

/// The first message of a group socket.
#[derive(Deserialize)]
struct GroupRequest {
    items: Vec<String>,
    #[serde(default = "default_rate")]
    update_rate_ms: f64,
    #[serde(default)]
    percent_deadband: f64,
}

fn default_rate() -> f64 {
    1000.0
}

/// Pending values per socket before the slowest client is considered gone.
const QUEUE: usize = 10_000;

/// Upgrades to a WebSocket once the caller has a session.
pub async fn subscribe(State(api): State<Api>, headers: HeaderMap, ws: WebSocketUpgrade) -> Result<Response, ApiError> {
    let session = session(&api, &headers).await?;
    Ok(ws.on_upgrade(move |socket| async move {
        if let Err(e) = run_group(socket, session).await {
            tracing::debug!("DA group ended: {e}");
        }
    }))
}

/// Why a group request is refused; the Display text is the `detail` of the error message
/// sent to the client (with `E_INVALIDARG`, OPC 10000-8 A.4.5).
#[derive(Debug, thiserror::Error)]
enum Refusal {
    /// The first message is not a text frame.
    #[error("the first message must be a JSON text")]
    NotText,
    /// The first message is not a group request.
    #[error("bad group request: {0}")]
    BadRequest(serde_json::Error),
    /// No items, or an update rate that is negative or not a number.
    #[error("give items and an update_rate_ms >= 0")]
    ItemsOrRate,
    /// A percent deadband outside 0 to 100.
    #[error("percent_deadband must be 0 to 100")]
    Deadband,
}

/// Why a group socket ended other than by the client closing it (logged at debug).
#[derive(Debug, thiserror::Error)]
enum GroupError {
    /// Writing to the socket failed.
    #[error(transparent)]
    Send(#[from] axum::Error),
    /// The group request was refused (and the client told why).
    #[error(transparent)]
    Refused(Refusal),
    /// No group request within 30 s, or the socket ended first.
    #[error("no group request")]
    NoRequest,
    /// The server refused CreateSubscription.
    #[error("CreateSubscription: {0}")]
    CreateSubscription(opcua::types::Error),
    /// The server refused CreateMonitoredItems.
    #[error("CreateMonitoredItems: {0}")]
    CreateMonitoredItems(opcua::types::Error),
}

async fn send(socket: &mut WebSocket, v: Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(v.to_string().into())).await
}

async fn refuse(socket: &mut WebSocket, refusal: Refusal) -> Result<(), GroupError> {
    let detail = refusal.to_string();
    send(socket, json!({"type": "error", "error": hresult_name(Hresult::E_INVALIDARG), "detail": detail})).await?;
    let _ = socket.send(Message::Close(None)).await;
    Err(GroupError::Refused(refusal))
}

async fn run_group(mut socket: WebSocket, api_session: ApiSession) -> Result<(), GroupError> {
    let ApiSession { session, ns } = api_session;
    let first = match tokio::time::timeout(Duration::from_secs(30), socket.recv()).await {
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Ok(_))) => return refuse(&mut socket, Refusal::NotText).await,
        _ => return Err(GroupError::NoRequest),
    };
    let req: GroupRequest = match serde_json::from_str(first.as_str()) {
        Ok(r) => r,
        Err(e) => return refuse(&mut socket, Refusal::BadRequest(e)).await,
    };
    if req.items.is_empty() || !(req.update_rate_ms.is_finite() && req.update_rate_ms >= 0.0) {
        return refuse(&mut socket, Refusal::ItemsOrRate).await;
    }
    if !(0.0..=100.0).contains(&req.percent_deadband) {
        return refuse(&mut socket, Refusal::Deadband).await;
    }

    let (tx, mut rx) = mpsc::channel::<(u32, DataValue)>(QUEUE);
    let callback = DataChangeCallback::new(move |dv: DataValue, item: &MonitoredItem| {
        // A full queue means the socket cannot keep up; the writer notices the gap by
        // the closed channel when the group ends.
        let _ = tx.try_send((item.client_handle(), dv));
    });
    let rate = Duration::from_millis(req.update_rate_ms as u64);
    let sub = session
        .create_subscription(rate, 600, 20, 0, 0, true, callback)
        .await
        .map_err(GroupError::CreateSubscription)?;
    let revised = {
        let state = session.subscription_state().lock();
        state.get(sub).map(|s| s.publishing_interval().as_millis() as u64)
    };

    let result = serve_group(&mut socket, &session, &ns, sub, &req, revised, &mut rx).await;
    let _ = session.delete_subscription(sub).await;
    result
}

async fn serve_group(
    socket: &mut WebSocket,
    session: &Session,
    ns: &NsMap,
    sub: u32,
    req: &GroupRequest,
    revised_rate: Option<u64>,
    rx: &mut mpsc::Receiver<(u32, DataValue)>,
) -> Result<(), GroupError> {
    let mut statuses: Vec<Option<Hresult>> = vec![None; req.items.len()];
    let mut creates = Vec::new();
    for (i, id) in req.items.iter().enumerate() {
        match ns.node_id(id) {
            Ok(node) => creates.push((i, node)),
            Err(_) => statuses[i] = Some(Hresult::OPC_E_INVALIDITEMID),
        }
    }
    let request = |i: usize, node: &opcua::types::NodeId, deadband: f64| MonitoredItemCreateRequest {
        item_to_monitor: ReadValueId {
            node_id: node.clone(),
            attribute_id: AttributeId::Value as u32,
            ..Default::default()
        },
        monitoring_mode: MonitoringMode::Reporting,
        requested_parameters: MonitoringParameters {
            // 0 would be replaced by the client library's own handle: use index + 1.
            client_handle: i as u32 + 1,
            sampling_interval: req.update_rate_ms,
            filter: if deadband > 0.0 {
                ExtensionObject::from_message(DataChangeFilter {
                    trigger: DataChangeTrigger::StatusValue,
                    deadband_type: DeadbandType::Percent as u32,
                    deadband_value: deadband,
                })
            } else {
                ExtensionObject::null()
            },
            queue_size: 10,
            discard_oldest: true,
        },
    };
    let created = session
        .create_monitored_items(
            sub,
            TimestampsToReturn::Both,
            creates.iter().map(|(i, n)| request(*i, n, req.percent_deadband)).collect(),
        )
        .await
        .map_err(GroupError::CreateMonitoredItems)?;
    // Deadband applies to analog items only (A.4.5): the others are monitored without it.
    let mut retry = Vec::new();
    for ((i, node), c) in creates.iter().zip(&created) {
        let s = c.result.status_code;
        if s.is_good() {
            statuses[*i] = Some(Hresult::S_OK);
        } else if req.percent_deadband > 0.0
            && matches!(
                s,
                StatusCode::BadFilterNotAllowed
                    | StatusCode::BadMonitoredItemFilterUnsupported
                    | StatusCode::BadDeadbandFilterInvalid
            )
        {
            retry.push((*i, node.clone()));
        } else {
            statuses[*i] = Some(fxgate_da::errors::ua_read_status_to_da(s));
        }
    }
    if !retry.is_empty() {
        let again = session
            .create_monitored_items(sub, TimestampsToReturn::Both, retry.iter().map(|(i, n)| request(*i, n, 0.0)).collect())
            .await
            .map_err(GroupError::CreateMonitoredItems)?;
        for ((i, _), c) in retry.iter().zip(&again) {
            statuses[*i] = Some(if c.result.status_code.is_good() {
                Hresult::S_OK
            } else {
                fxgate_da::errors::ua_read_status_to_da(c.result.status_code)
            });
        }
    }
    let items: Vec<Value> = req
        .items
        .iter()
        .zip(&statuses)
        .map(|(id, s)| json!({"item_id": id, "error": hresult_name(s.unwrap_or(Hresult::E_FAIL))}))
        .collect();
    send(socket, json!({"type": "group", "update_rate_ms": revised_rate, "items": items})).await?;

    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => {} // later messages are ignored; pings are answered by axum
            },
            change = rx.recv() => {
                let Some((handle, dv)) = change else { return Ok(()) };
                let Some(id) = (handle as usize).checked_sub(1).and_then(|i| req.items.get(i)) else { continue };
                let mut msg = vqt(id, &dv, None);
                msg["type"] = json!("data");
                send(socket, msg).await?;
            }
        }
    }
}
