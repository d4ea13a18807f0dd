//! Accepting connections: TLS handshakes run in their own tasks (bounded in number and time, so a
//! slow or silent peer cannot hold the accept loop), and plaintext connections are told apart by
//! their first byte so they can get a readable refusal instead of a dropped socket. Every
//! accepted connection holds a slot of the connection cap until it closes.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

use super::counted::Counted;

/// A TLS record starts with content type 22 (handshake).
const TLS_HANDSHAKE_BYTE: u8 = 0x16;
/// A peer must finish its handshake within this; WAN round trips are far shorter.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in flight at once; more connections wait in the kernel backlog.
const MAX_PENDING_HANDSHAKES: usize = 256;

pub type TlsIncoming = ReceiverStream<std::io::Result<Counted<TlsStream<TcpStream>>>>;
pub type PlainIncoming = ReceiverStream<std::io::Result<Counted<TcpStream>>>;

/// Splits `listener`'s connections into TLS ones (handshake done) and plaintext ones, at most
/// `max_connections` open at once (the rest wait in the kernel backlog).
/// The returned task runs until aborted.
pub fn split_incoming(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    max_connections: usize,
) -> (TlsIncoming, PlainIncoming, JoinHandle<()>) {
    let (tls_tx, tls_rx) = mpsc::channel(64);
    let (plain_tx, plain_rx) = mpsc::channel(16);
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let permits = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    let slots = Arc::new(Semaphore::new(max_connections));
    let task = tokio::spawn(async move {
        let mut warned_full = false;
        loop {
            let slot = match slots.clone().try_acquire_owned() {
                Ok(s) => {
                    warned_full = false;
                    s
                }
                Err(_) => {
                    if !warned_full {
                        tracing::warn!("{max_connections} connections open (network.max_connections): new ones wait");
                        warned_full = true;
                    }
                    let Ok(s) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    s
                }
            };
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!("cannot disable Nagle on an accepted socket: {e}");
            }
            let (acceptor, tls_tx, plain_tx) = (acceptor.clone(), tls_tx.clone(), plain_tx.clone());
            tokio::spawn(async move {
                let _permit = permit;
                let outcome = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
                    let mut first = [0u8; 1];
                    match tcp.peek(&mut first).await {
                        Ok(1) if first[0] == TLS_HANDSHAKE_BYTE => {}
                        Ok(1) => return Ok(Err(tcp)),
                        Ok(_) => return Err("closed before sending anything".to_owned()),
                        Err(e) => return Err(e.to_string()),
                    }
                    acceptor.accept(tcp).await.map(Ok).map_err(|e| e.to_string())
                })
                .await;
                match outcome {
                    Ok(Ok(Ok(tls))) => {
                        let _ = tls_tx.send(Ok(Counted::new(tls, slot))).await;
                    }
                    Ok(Ok(Err(plain))) => {
                        tracing::warn!(%peer, "refusing a plaintext connection: this node requires mutual TLS");
                        let _ = plain_tx.send(Ok(Counted::new(plain, slot))).await;
                    }
                    Ok(Err(reason)) => tracing::warn!(%peer, "TLS handshake refused: {reason}"),
                    Err(_) => tracing::warn!(%peer, "TLS handshake not finished within {HANDSHAKE_TIMEOUT:?}"),
                }
            });
        }
    });
    (ReceiverStream::new(tls_rx), ReceiverStream::new(plain_rx), task)
}
