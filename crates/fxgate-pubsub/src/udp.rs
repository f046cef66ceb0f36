//! The UDP transport mapping (Part 14 §7.3.2): `opc.udp://` addresses and the sockets of a
//! connection, unicast or multicast.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// Why an `opc.udp://` URL is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// It is not an `opc.udp://<host>:<port>` URL.
    #[error(transparent)]
    Parse(#[from] fxgate_config::udp_url::UdpUrlError),
    /// The host name does not resolve.
    #[error("`{0}` does not resolve to an address")]
    Resolve(String),
}

pub use fxgate_config::udp_url::UdpUrl;

/// Parses `opc.udp://<host>:<port>` (IPv6 in brackets).
pub fn parse_udp_url(url: &str) -> Result<UdpUrl, UrlError> {
    Ok(fxgate_config::udp_url::parse_udp_url(url)?)
}

/// The socket address of `url` (a name is resolved, IPv4 first).
pub fn resolve(url: &UdpUrl) -> Result<SocketAddr, UrlError> {
    if let Ok(ip) = url.host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, url.port));
    }
    let addrs: Vec<_> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|_| UrlError::Resolve(url.host.clone()))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| UrlError::Resolve(url.host.clone()))
}

/// The socket a connection receives on: bound to `addr`, or for a multicast group bound to
/// the group's port on every interface (shared with other receivers) and joined on
/// `interface`.
pub fn receiver(addr: SocketAddr, interface: Option<Ipv4Addr>) -> std::io::Result<UdpSocket> {
    let domain = if addr.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    // A 10 ms publisher of many writers fills the default buffer quickly.
    let _ = s.set_recv_buffer_size(4 << 20);
    let bind = match addr.ip() {
        IpAddr::V4(g) if g.is_multicast() => {
            s.set_reuse_address(true)?;
            SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), addr.port())
        }
        IpAddr::V6(g) if g.is_multicast() => {
            s.set_reuse_address(true)?;
            SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), addr.port())
        }
        _ => addr,
    };
    s.bind(&bind.into())?;
    match addr.ip() {
        IpAddr::V4(g) if g.is_multicast() => s.join_multicast_v4(&g, &interface.unwrap_or(Ipv4Addr::UNSPECIFIED))?,
        IpAddr::V6(g) if g.is_multicast() => s.join_multicast_v6(&g, 0)?,
        _ => {}
    }
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}

/// The socket a writer group sends from: an ephemeral port, with the multicast interface,
/// TTL and loopback set (so a reader on this host sees the group's messages).
pub fn sender(to: SocketAddr, interface: Option<Ipv4Addr>, ttl: u32) -> std::io::Result<UdpSocket> {
    let domain = if to.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    let local: SocketAddr = if to.is_ipv4() {
        SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0)
    } else {
        SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), 0)
    };
    s.bind(&local.into())?;
    if to.ip().is_multicast() && to.is_ipv4() {
        if let Some(i) = interface {
            s.set_multicast_if_v4(&i)?;
        }
        s.set_multicast_ttl_v4(ttl)?;
        s.set_multicast_loop_v4(true)?;
    }
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_or_say_why_not() {
        assert_eq!(parse_udp_url("opc.udp://239.0.0.1:4840"), Ok(UdpUrl { host: "239.0.0.1".into(), port: 4840 }));
        assert_eq!(parse_udp_url("opc.udp://[::1]:4840/").map(|u| u.host), Ok("::1".into()));
        use fxgate_config::udp_url::UdpUrlError as E;
        assert_eq!(parse_udp_url("opc.tcp://h:4840"), Err(UrlError::Parse(E::Scheme)));
        assert_eq!(parse_udp_url("opc.udp://h"), Err(UrlError::Parse(E::Port)));
        assert_eq!(parse_udp_url("opc.udp://h:0"), Err(UrlError::Parse(E::Port)));
        assert_eq!(parse_udp_url("opc.udp://:4840"), Err(UrlError::Parse(E::Host)));
    }

    #[tokio::test]
    async fn a_multicast_datagram_reaches_a_receiver_on_this_host() {
        let group: SocketAddr = "239.255.77.1:0".parse().unwrap_or_else(|_| unreachable!());
        // Port 0 cannot be joined meaningfully: take a free port first.
        let probe = std::net::UdpSocket::bind("0.0.0.0:0").expect("probe");
        let port = probe.local_addr().expect("addr").port();
        drop(probe);
        let group = SocketAddr::new(group.ip(), port);
        let lo = Some(Ipv4Addr::LOCALHOST);
        let rx = receiver(group, lo).expect("join the group on the loopback interface");
        let tx = sender(group, lo, 1).expect("sender");
        tx.send_to(b"hello", group).await.expect("send");
        let mut buf = [0u8; 16];
        let got = tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv_from(&mut buf)).await;
        let (n, _) = got.expect("a datagram within 2 s").expect("recv");
        assert_eq!(&buf[..n], b"hello");
    }
}
