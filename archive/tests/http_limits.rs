//! The front's HTTP listener (`archipel_archive::http`, what `archipel archive serve` runs): a
//! client that trickles half a header or sends nothing is cut off at the header deadline, and
//! connections beyond the cap wait until one closes.

use std::time::{Duration, Instant};

use archipel_archive::http::{serve, HttpLimits};
use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FULL_REQUEST: &[u8] = b"GET /ok HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n";

async fn front(limits: HttpLimits) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/ok", get(|| async { "ok" }));
    tokio::spawn(serve(app, listener, limits));
    addr
}

/// Reads until the server closes; the bytes and how long it took.
async fn read_to_close(conn: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, start.elapsed()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "the connection was still open after {limit:?}; read so far: {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

#[tokio::test]
async fn half_a_header_or_none_is_cut_off_at_the_deadline() {
    let addr = front(HttpLimits {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 16,
    })
    .await;

    // The control: a whole request is answered.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(FULL_REQUEST).await.unwrap();
    let (reply, _) = read_to_close(&mut conn, Duration::from_secs(5)).await;
    assert!(
        reply.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&reply)
    );

    // Half a header, then silence: closed at the deadline, not before, and never answered 200.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /ok HTTP/1.1\r\nHost: fr").await.unwrap();
    let (reply, took) = read_to_close(&mut conn, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(900), "closed too early: {took:?}");
    assert!(took < Duration::from_secs(3), "closed too late: {took:?}");
    assert!(
        !reply.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&reply)
    );

    // Nothing at all: closed at the deadline too.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let (_, took) = read_to_close(&mut conn, Duration::from_secs(5)).await;
    assert!(
        took < Duration::from_secs(3),
        "a silent connection must be closed: {took:?}"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let addr = front(HttpLimits {
        header_read_timeout: Duration::from_secs(30),
        max_connections: 1,
    })
    .await;
    let holder = TcpStream::connect(addr).await.unwrap();
    // Let the server accept the holder and take the only slot.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut waiting = TcpStream::connect(addr).await.unwrap();
    waiting.write_all(FULL_REQUEST).await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(700), waiting.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a connection over the cap must not be served: {early:?}"
    );
    drop(holder);
    let (reply, _) = read_to_close(&mut waiting, Duration::from_secs(5)).await;
    assert!(
        reply.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
}
