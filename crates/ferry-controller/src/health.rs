//! `ferry-controller health`: the container's health probe.
//!
//! It GETs `/healthz` from the admin server of a controller running on the
//! same host, so a container image without a shell or curl can still have a
//! `HEALTHCHECK` (and ECS a task `healthCheck`). It reads no AWS
//! configuration and starts nothing: only `--admin-addr` and a timeout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Exits 0 when the local controller's `/healthz` answers HTTP 200, else 1
/// with the reason on stderr. Needs no AWS configuration.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// Admin address of the controller to probe, as given to the controller
    /// itself. An unspecified address (0.0.0.0, [::]) is probed on loopback.
    #[arg(long, env = "FERRY_ADMIN_ADDR", default_value = "0.0.0.0:9090")]
    pub admin_addr: SocketAddr,

    /// How long connecting, sending and reading the answer may take in all.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Where to connect for `admin_addr`: a controller listening on every
/// address is reached on loopback, as a probe in its container would.
pub fn probe_addr(admin_addr: SocketAddr) -> SocketAddr {
    let ip = match admin_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, admin_addr.port())
}

/// Probes `/healthz` at `admin_addr` within `timeout`. `Ok` means HTTP 200;
/// the error is one line saying what failed.
pub async fn check(admin_addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let addr = probe_addr(admin_addr);
    let url = format!("http://{addr}/healthz");
    match tokio::time::timeout(timeout, get_status(addr)).await {
        Err(_) => Err(format!("{url}: no answer within {timeout:?}")),
        Ok(Err(err)) => Err(format!("{url}: {err}")),
        Ok(Ok(200)) => Ok(()),
        Ok(Ok(status)) => Err(format!("{url}: HTTP {status}")),
    }
}

/// The status code of `GET /healthz` at `addr`.
async fn get_status(addr: SocketAddr) -> Result<u16, String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("sending the request: {e}"))?;
    // Only the status line matters; it fits in the first few bytes, and the
    // limit keeps a misbehaving peer from feeding the probe forever.
    let mut head = Vec::with_capacity(256);
    let mut buffer = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let read = stream
            .read(&mut buffer)
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or_default();
    parse_status_line(line).ok_or_else(|| {
        if line.is_empty() {
            "closed without an answer".to_owned()
        } else {
            format!("not an HTTP answer: {line:?}")
        }
    })
}

/// `HTTP/1.1 200 OK` -> 200.
fn parse_status_line(line: &str) -> Option<u16> {
    let mut words = line.split_whitespace();
    let version = words.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    words.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A one-connection server that reads the request and sends `answer`.
    async fn serve_once(answer: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let _ = socket.write_all(answer).await;
        });
        addr
    }

    const TIMEOUT: Duration = Duration::from_secs(2);

    #[tokio::test]
    async fn http_200_is_healthy() {
        let addr = serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n").await;
        assert_eq!(check(addr, TIMEOUT).await, Ok(()));
    }

    #[tokio::test]
    async fn the_admin_router_answers_200() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = crate::admin::AdminState {
            metrics: crate::metrics::Metrics::new().unwrap(),
            ready: Default::default(),
        };
        tokio::spawn(crate::admin::serve(listener, state, std::future::pending()));
        assert_eq!(check(addr, TIMEOUT).await, Ok(()));
    }

    #[tokio::test]
    async fn another_status_is_unhealthy() {
        let addr = serve_once(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        let err = check(addr, TIMEOUT).await.unwrap_err();
        assert!(err.ends_with("HTTP 503"), "{err}");
    }

    #[tokio::test]
    async fn a_closed_port_is_unhealthy() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = check(addr, TIMEOUT).await.unwrap_err();
        assert!(err.contains("cannot connect"), "{err}");
    }

    #[tokio::test]
    async fn garbage_is_unhealthy() {
        let addr = serve_once(b"SSH-2.0-OpenSSH\r\n").await;
        let err = check(addr, TIMEOUT).await.unwrap_err();
        assert!(err.contains("not an HTTP answer"), "{err}");
    }

    #[tokio::test]
    async fn silence_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepts (the backlog does) but never answers.
        let err = check(addr, Duration::from_millis(200)).await.unwrap_err();
        assert!(err.contains("no answer within"), "{err}");
        drop(listener);
    }

    #[test]
    fn an_unspecified_address_is_probed_on_loopback() {
        let probe = |s: &str| probe_addr(s.parse().unwrap()).to_string();
        assert_eq!(probe("0.0.0.0:9090"), "127.0.0.1:9090");
        assert_eq!(probe("[::]:9090"), "[::1]:9090");
        assert_eq!(probe("127.0.0.2:9091"), "127.0.0.2:9091");
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line("HTTP/1.1 200 OK"), Some(200));
        assert_eq!(parse_status_line("HTTP/1.0 404"), Some(404));
        assert_eq!(parse_status_line("200 OK"), None);
        assert_eq!(parse_status_line(""), None);
    }
}
