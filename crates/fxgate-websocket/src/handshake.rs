//! The opening handshake (RFC 6455 §4.1), done here rather than by yawc so that the
//! server's chosen subprotocol can be checked (seed 001 §5.1.1.1 `CheckProtocol`) and every failure
//! gets its `CONNECT_RES_*` status. The frames afterwards are yawc's.

use base64::Engine;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::HandshakeError;

/// What the handshake asks for.
pub struct Request<'a> {
    /// Host header value (`host[:port]`).
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
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(io: &mut S, req: &Request<'_>) -> Result<Agreed, HandshakeError> {
    let mut nonce = [0u8; 16];
    openssl::rand::rand_bytes(&mut nonce).map_err(HandshakeError::Nonce)?;
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
    io.write_all(text.as_bytes()).await.map_err(HandshakeError::Send)?;
    io.flush().await.map_err(HandshakeError::Send)?;

    let mut head = Vec::with_capacity(512);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(HandshakeError::HeaderTooLong);
        }
        match io.read(&mut byte).await {
            Ok(0) => return Err(HandshakeError::Closed),
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(HandshakeError::Read(e)),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (proto, code) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    if !proto.starts_with("HTTP/1.") {
        return Err(HandshakeError::NotHttp(status_line.to_string()));
    }
    if code != "101" {
        return Err(HandshakeError::Status(status_line.to_string()));
    }
    let mut agreed = Agreed::default();
    let (mut upgrade, mut connection, mut accept) = (false, false, None);
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(HandshakeError::HeaderLine(line.to_string()));
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
        return Err(HandshakeError::NotUpgrade);
    }
    match accept {
        None => return Err(HandshakeError::NoAccept),
        Some(a) if a != accept_of(&key) => return Err(HandshakeError::AcceptMismatch),
        Some(_) => {}
    }
    if let Some(ext) = &agreed.extensions {
        let ok = req.deflate && ext.split(';').next().is_some_and(|e| e.trim() == "permessage-deflate") && !ext.contains(',');
        if !ok {
            return Err(HandshakeError::Extensions(ext.clone()));
        }
    }
    // CheckProtocol: the server must choose what we offered, and nothing when we offered nothing.
    let chosen = agreed.subprotocol.as_deref().unwrap_or("");
    if chosen != req.subprotocol {
        return Err(HandshakeError::Subprotocol { chosen: chosen.to_string(), offered: req.subprotocol.to_string() });
    }
    Ok(agreed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::WsState;

    #[test]
    fn accept_hash_of_rfc6455_example() {
        assert_eq!(super::accept_of("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    /// The handshake against a server that answers `response(accept)`, `accept` being the
    /// right `Sec-WebSocket-Accept` for the request's key.
    async fn against(offered: &str, response: impl FnOnce(&str) -> String) -> Result<Agreed, HandshakeError> {
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        let req = Request { host: "h:1", path: "/", subprotocol: offered, origin: "", deflate: false, bearer: "" };
        let (r, ()) = tokio::join!(handshake(&mut client, &req), async {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && server.read(&mut byte).await.unwrap() == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8(head).unwrap();
            let key = head.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap();
            server.write_all(response(&accept_of(key)).as_bytes()).await.unwrap();
            drop(server);
        });
        r
    }

    fn upgrade(accept: &str, extra: &str) -> String {
        format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extra}\r\n")
    }

    /// Each failure of the response, with the status it reports.
    #[tokio::test]
    async fn responses_and_their_statuses() {
        let status = |r: Result<Agreed, HandshakeError>| WsState::from(&r.unwrap_err()).name();
        assert_eq!(status(against("", |_| "HTTP/1.1 403 Forbidden\r\n\r\n".into()).await), "CONNECT_RES_INVALID_STATUS");
        assert_eq!(status(against("", |_| "SSH-2.0\r\n\r\n".into()).await), "CONNECT_RES_PARSE_ERROR");
        assert_eq!(status(against("", |_| "HTTP/1.1 101 OK\r\nbad line\r\n\r\n".into()).await), "CONNECT_RES_PARSE_ERROR");
        assert_eq!(status(against("", |_| "HTTP/1.1 101 OK\r\n".into()).await), "CONNECT_RES_INVALID");
        assert_eq!(status(against("", |_| "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n\r\n".into()).await), "CONNECT_RES_INVALID");
        assert_eq!(
            status(against("", |_| "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n".into()).await),
            "CONNECT_RES_ACCEPT_INVALID"
        );
        assert_eq!(status(against("", |_| upgrade("AAAA", "")).await), "CONNECT_RES_ACCEPT_INVALID_HASH");
        assert_eq!(
            status(against("", |a| upgrade(a, "Sec-WebSocket-Extensions: permessage-deflate\r\n")).await),
            "CONNECT_RES_INVALID_EXTENSION"
        );
        let e = against("p1", |a| upgrade(a, "Sec-WebSocket-Protocol: p2\r\n")).await.unwrap_err();
        assert_eq!((WsState::from(&e).name(), e.to_string()), ("CONNECT_RES_REJECT".into(), "subprotocol `p2` chosen by the server, `p1` offered".into()));
        assert_eq!(status(against("p1", |a| upgrade(a, "")).await), "CONNECT_RES_REJECT");
        let ok = against("p1", |a| upgrade(a, "Sec-WebSocket-Protocol: p1\r\n")).await.unwrap();
        assert_eq!((ok.subprotocol.as_deref(), ok.extensions), (Some("p1"), None));
    }
}
