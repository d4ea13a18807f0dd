//! Channels to other nodes, one per address, created lazily and shared by every caller.
//! With TLS, each connection presents this node's certificate and checks the peer's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::tls::connect::{ExpectedPeer, TlsConnector};

/// Time to open a TCP connection to a peer; a dead site should be noticed quickly.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Default)]
pub struct Peers {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    /// None: plaintext (`insecure_plaintext`, test rigs only).
    tls: Option<TlsConnector>,
}

impl Peers {
    pub fn with_tls(config: Arc<rustls::ClientConfig>, expected: ExpectedPeer) -> Peers {
        Peers {
            channels: Default::default(),
            tls: Some(TlsConnector::new(config, Some(expected))),
        }
    }

    pub fn channel(&self, addr: &str) -> Result<Channel, tonic::transport::Error> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = channels.get(addr) {
            return Ok(c.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            // Shard streams of a paused GET must not stall the connection (`limits`).
            .initial_stream_window_size(archipel_proto::limits::STREAM_WINDOW)
            .initial_connection_window_size(archipel_proto::limits::CONNECTION_WINDOW)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(5));
        let channel = match &self.tls {
            Some(tls) => endpoint.connect_with_connector_lazy(tls.clone()),
            None => endpoint.connect_lazy(),
        };
        channels.insert(addr.to_owned(), channel.clone());
        Ok(channel)
    }
}
