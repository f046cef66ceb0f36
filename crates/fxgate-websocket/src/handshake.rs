//! The opening handshake (RFC 6455 §4.1), done here rather than by yawc so that the
//! server's chosen subprotocol can be checked (TF6770 `CheckProtocol`) and every failure
//! gets its `CONNECT_RES_*` status. The frames afterwards are yawc's.

use base64::Engine;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::status::WsStatus;
use crate::tls::WsError;

/// What the handshake asks for.
pub struct Request<'a> {
    /// Host header value (host[:port]).
    pub host: &'a str,
    /// Path and query.
    pub path: &'a str,
    /// Subprotocol to offer (empty: none).
    pub subprotocol: &'a str,
    /// Origin header (empty: none).
    pub origin: &'a str,
    /// Offer permessage-deflate.
    pub deflate: bool,
    /// Bearer token (empty: none).
    pub bearer: &'a str,
}

/// What the server agreed to.
#[derive(Debug, Default)]
pub struct Agreed {
    /// The `Sec-WebSocket-Extensions` the server answered, if any.
    pub extensions: Option<String>,
    /// The subprotocol the server chose.
    pub subprotocol: Option<String>,
}

fn accept_of(key: &str) -> String {
    let mut h = openssl::sha::Sha1::new();
    h.update(key.as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(h.finish())
}

/// Sends the upgrade request and checks the response. Reads the response byte by byte so
/// that no frame bytes that follow it are consumed.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(io: &mut S, req: &Request<'_>) -> Result<Agreed, WsError> {
    let mut nonce = [0u8; 16];
    openssl::rand::rand_bytes(&mut nonce).map_err(|e| WsError::new(WsStatus::INTERNAL_ERROR, e.to_string()))?;
    let key = base64::engine::general_purpose::STANDARD.encode(nonce);
    let mut text = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
        req.path, req.host
    );
    if !req.subprotocol.is_empty() {
        text += &format!("Sec-WebSocket-Protocol: {}\r\n", req.subprotocol);
    }
    if !req.origin.is_empty() {
        text += &format!("Origin: {}\r\n", req.origin);
    }
    if req.deflate {
        // No client_max_window_bits: the compressor works with the full 15-bit window, and
        // offering the parameter would let the server demand a smaller one.
        text += "Sec-WebSocket-Extensions: permessage-deflate\r\n";
    }
    if !req.bearer.is_empty() {
        text += &format!("Authorization: Bearer {}\r\n", req.bearer);
    }
    text += "\r\n";
    io.write_all(text.as_bytes())
        .await
        .map_err(|e| WsError::new(WsStatus::CONNECT_REQ_SEND_ERROR, e.to_string()))?;
    io.flush().await.map_err(|e| WsError::new(WsStatus::CONNECT_REQ_SEND_ERROR, e.to_string()))?;

    let mut head = Vec::with_capacity(512);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(WsError::new(WsStatus::CONNECT_RES_PARSE_ERROR, "response header over 16 KiB"));
        }
        match io.read(&mut byte).await {
            Ok(0) => return Err(WsError::new(WsStatus::CONNECT_RES_INVALID, "connection closed during the handshake")),
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(WsError::new(WsStatus::SOCK_CONN_LOST, e.to_string())),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (proto, code) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    if !proto.starts_with("HTTP/1.") {
        return Err(WsError::new(WsStatus::CONNECT_RES_PARSE_ERROR, format!("not an HTTP response: `{status_line}`")));
    }
    if code != "101" {
        return Err(WsError::new(WsStatus::CONNECT_RES_INVALID_STATUS, format!("server answered `{status_line}`")));
    }
    let mut agreed = Agreed::default();
    let (mut upgrade, mut connection, mut accept) = (false, false, None);
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(WsError::new(WsStatus::CONNECT_RES_PARSE_ERROR, format!("bad header line `{line}`")));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "upgrade" => upgrade = value.eq_ignore_ascii_case("websocket"),
            "connection" => connection = value.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")),
            "sec-websocket-accept" => accept = Some(value.to_string()),
            "sec-websocket-extensions" => agreed.extensions = Some(value.to_string()),
            "sec-websocket-protocol" => agreed.subprotocol = Some(value.to_string()),
            _ => {}
        }
    }
    if !upgrade || !connection {
        return Err(WsError::new(WsStatus::CONNECT_RES_INVALID, "missing Upgrade: websocket / Connection: Upgrade"));
    }
    match accept {
        None => return Err(WsError::new(WsStatus::CONNECT_RES_ACCEPT_INVALID, "no Sec-WebSocket-Accept")),
        Some(a) if a != accept_of(&key) => {
            return Err(WsError::new(WsStatus::CONNECT_RES_ACCEPT_INVALID_HASH, "Sec-WebSocket-Accept does not match the key"))
        }
        Some(_) => {}
    }
    if let Some(ext) = &agreed.extensions {
        let ok = req.deflate && ext.split(';').next().is_some_and(|e| e.trim() == "permessage-deflate") && !ext.contains(',');
        if !ok {
            return Err(WsError::new(WsStatus::CONNECT_RES_INVALID_EXTENSION, format!("server chose extensions `{ext}` that were not offered")));
        }
    }
    // CheckProtocol: the server must choose what we offered, and nothing when we offered nothing.
    let chosen = agreed.subprotocol.as_deref().unwrap_or("");
    if chosen != req.subprotocol {
        return Err(WsError::new(
            WsStatus::CONNECT_RES_REJECT,
            format!("subprotocol `{chosen}` chosen by the server, `{}` offered", req.subprotocol),
        ));
    }
    Ok(agreed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn accept_hash_of_rfc6455_example() {
        assert_eq!(super::accept_of("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
