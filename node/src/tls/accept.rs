//! Accepting connections: TLS handshakes run in their own tasks (bounded in number and time, so a
//! slow or silent peer cannot hold the accept loop), and plaintext connections are told apart by
//! their first byte so they can get a readable refusal instead of a dropped socket.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

/// A TLS record starts with content type 22 (handshake).
const TLS_HANDSHAKE_BYTE: u8 = 0x16;
/// A peer must finish its handshake within this; WAN round trips are far shorter.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in flight at once; more connections wait in the kernel backlog.
const MAX_PENDING_HANDSHAKES: usize = 256;

pub type TlsIncoming = ReceiverStream<std::io::Result<TlsStream<TcpStream>>>;
pub type PlainIncoming = ReceiverStream<std::io::Result<TcpStream>>;

/// Splits `listener`'s connections into TLS ones (handshake done) and plaintext ones.
/// The returned task runs until aborted.
pub fn split_incoming(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
) -> (TlsIncoming, PlainIncoming, JoinHandle<()>) {
    let (tls_tx, tls_rx) = mpsc::channel(64);
    let (plain_tx, plain_rx) = mpsc::channel(16);
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let permits = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    let task = tokio::spawn(async move {
        loop {
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
                        let _ = tls_tx.send(Ok(tls)).await;
                    }
                    Ok(Ok(Err(plain))) => {
                        tracing::warn!(%peer, "refusing a plaintext connection: this node requires mutual TLS");
                        let _ = plain_tx.send(Ok(plain)).await;
                    }
                    Ok(Err(reason)) => tracing::warn!(%peer, "TLS handshake refused: {reason}"),
                    Err(_) => tracing::warn!(%peer, "TLS handshake not finished within {HANDSHAKE_TIMEOUT:?}"),
                }
            });
        }
    });
    (ReceiverStream::new(tls_rx), ReceiverStream::new(plain_rx), task)
}
