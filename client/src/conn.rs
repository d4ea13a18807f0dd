//! Connections to the cluster's nodes and the failover rule.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};
use tonic::{Response, Status};

use archipel_proto::retry::{never_sent, said_retry_safe};

use crate::tls::{tls_failure, TlsConnector, TlsFiles};
use crate::ClientError;

/// The environment variable naming the client's TLS directory.
pub const TLS_DIR_ENV: &str = "ARCHIPEL_TLS_DIR";

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// Limit for one RPC.
    pub request_timeout: Duration,
    /// How long to keep trying other nodes (e.g. through a leader election).
    pub retry_for: Duration,
    /// Mutual TLS (the nodes require it unless run with `insecure_plaintext`).
    pub tls: Option<TlsFiles>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(30),
            // Longer than an election (a few seconds with the default timeouts).
            retry_for: Duration::from_secs(20),
            tls: None,
        }
    }
}

/// A failure that says nothing about whether the request was applied.
fn unclear(status: &Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
    )
}

/// Whether an operation may be sent again after an unclear failure.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotence {
    /// Reads, and writes whose repetition changes nothing (membership, namespace creation).
    /// Metadata put and delete are not: sent again late, they could undo a newer write.
    Safe,
    /// Compare-and-swap and membership changes: only on the server's word.
    ServerSaysSafe,
}

pub struct Client {
    endpoints: Vec<String>,
    channels: Mutex<HashMap<String, Channel>>,
    preferred: AtomicUsize,
    pub(crate) options: ClientOptions,
    tls: Option<TlsConnector>,
}

/// Why a connection could not be opened.
pub(crate) enum ConnectError {
    /// A TLS refusal: trying again or elsewhere will not help.
    Tls(String),
    Other(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Tls(m) | ConnectError::Other(m) => f.write_str(m),
        }
    }
}

impl Client {
    /// A client for the cluster reachable at any of `endpoints` (host:port).
    pub fn new(endpoints: &[String], options: ClientOptions) -> Result<Self, ClientError> {
        let endpoints: Vec<String> = endpoints
            .iter()
            .map(|e| e.trim().trim_start_matches("http://").to_owned())
            .filter(|e| !e.is_empty())
            .collect();
        if endpoints.is_empty() {
            return Err(ClientError::NoEndpoints);
        }
        for e in &endpoints {
            Endpoint::from_shared(format!("http://{e}")).map_err(|err| ClientError::BadAddress {
                addr: e.clone(),
                reason: err.to_string(),
            })?;
        }
        let tls = match &options.tls {
            Some(files) => Some(TlsConnector(files.client_config()?)),
            None => None,
        };
        Ok(Self {
            endpoints,
            channels: Mutex::new(HashMap::new()),
            preferred: AtomicUsize::new(0),
            options,
            tls,
        })
    }

    /// Parses `a,b,c` as given in `--cluster` or `ARCHIPEL_CLUSTER`, with mutual TLS from the
    /// directory in `ARCHIPEL_TLS_DIR` when it is set (ca.pem, client.pem, client.key).
    pub fn from_list(list: &str) -> Result<Self, ClientError> {
        let tls = std::env::var_os(TLS_DIR_ENV)
            .filter(|d| !d.is_empty())
            .map(|d| TlsFiles::from_dir(std::path::Path::new(&d)));
        Self::from_list_with_tls(list, tls)
    }

    /// As `from_list`, with the TLS files given explicitly (None: plaintext).
    pub fn from_list_with_tls(list: &str, tls: Option<TlsFiles>) -> Result<Self, ClientError> {
        let endpoints: Vec<String> = list.split(',').map(str::to_owned).collect();
        Self::new(
            &endpoints,
            ClientOptions {
                tls,
                ..ClientOptions::default()
            },
        )
    }

    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    pub(crate) async fn channel(&self, addr: &str) -> Result<Channel, ConnectError> {
        if let Some(c) = self.channels.lock().unwrap_or_else(|p| p.into_inner()).get(addr) {
            return Ok(c.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| ConnectError::Other(e.to_string()))?
            .connect_timeout(self.options.connect_timeout)
            // No per-request deadline on the channel: it would also cut long uploads and downloads.
            // Unary calls get theirs in `call_for`.
            .tcp_nodelay(true)
            // Paused downloads must not stall the connection (`limits`).
            .initial_stream_window_size(archipel_proto::limits::STREAM_WINDOW)
            .initial_connection_window_size(archipel_proto::limits::CONNECTION_WINDOW);
        let connected = match &self.tls {
            Some(tls) => endpoint.connect_with_connector(tls.clone()).await,
            None => endpoint.connect().await,
        };
        let channel = connected.map_err(|e| {
            if let Some(tls) = tls_failure(&e) {
                return ConnectError::Tls(format!("{addr}: {tls}"));
            }
            let detail = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default();
            ConnectError::Other(format!("{e} {detail}").trim().to_owned())
        })?;
        self.channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(addr.to_owned(), channel.clone());
        Ok(channel)
    }

    fn forget(&self, addr: &str) {
        self.channels.lock().unwrap_or_else(|p| p.into_inner()).remove(addr);
    }

    /// A connected channel to the first node that accepts a connection.
    pub(crate) async fn any_channel(&self) -> Result<(String, Channel), ClientError> {
        let n = self.endpoints.len();
        let start = self.preferred.load(Ordering::Relaxed);
        let mut failures = Vec::new();
        for i in 0..n {
            let idx = (start + i) % n;
            let addr = &self.endpoints[idx];
            match self.channel(addr).await {
                Ok(c) => return Ok((addr.clone(), c)),
                Err(ConnectError::Tls(e)) => return Err(ClientError::TlsRefused(e)),
                Err(ConnectError::Other(e)) => failures.push(format!("{addr}: {e}")),
            }
        }
        Err(ClientError::Unavailable(format!(
            "no node accepts connections ({})",
            failures.join("; ")
        )))
    }

    /// Calls one specific node, without failover.
    pub(crate) async fn call_node<T, F, Fut>(&self, addr: &str, f: F) -> Result<T, ClientError>
    where
        F: FnOnce(Channel) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let channel = self.channel(addr).await.map_err(|e| match e {
            ConnectError::Tls(e) => ClientError::TlsRefused(e),
            ConnectError::Other(e) => ClientError::Unavailable(format!("cannot connect to {addr}: {e}")),
        })?;
        f(channel).await.map(Response::into_inner).map_err(|s| {
            if s.code() == tonic::Code::Unavailable {
                self.forget(addr);
            }
            match tls_failure(&s) {
                Some(tls) => ClientError::TlsRefused(format!("{addr}: {tls}")),
                None => ClientError::from_status(&s),
            }
        })
    }

    /// Calls the cluster, moving to another node when that is safe for `idempotence`.
    pub(crate) async fn call<T, F, Fut>(&self, idempotence: Idempotence, f: F) -> Result<T, ClientError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        self.call_for(idempotence, self.options.request_timeout, f).await
    }

    /// As `call`, with `timeout` for each attempt until the reply (or a stream's first message) arrives.
    pub(crate) async fn call_for<T, F, Fut>(
        &self,
        idempotence: Idempotence,
        timeout: Duration,
        f: F,
    ) -> Result<T, ClientError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let deadline = tokio::time::Instant::now() + self.options.retry_for;
        let n = self.endpoints.len();
        let mut failures: Vec<String> = Vec::new();
        let mut round = 0u32;
        loop {
            let start = self.preferred.load(Ordering::Relaxed);
            for i in 0..n {
                let idx = (start + i) % n;
                let addr = &self.endpoints[idx];
                let channel = match self.channel(addr).await {
                    Ok(c) => c,
                    Err(ConnectError::Tls(e)) => return Err(ClientError::TlsRefused(e)),
                    Err(ConnectError::Other(e)) => {
                        failures.push(format!("{addr}: {e}"));
                        continue;
                    }
                };
                let answer = match tokio::time::timeout(timeout, f(channel)).await {
                    Ok(answer) => answer,
                    Err(_) => Err(Status::deadline_exceeded(format!("no answer within {timeout:?}"))),
                };
                if let Err(s) = &answer {
                    // A certificate refused mid-connection (TLS 1.3 reports it on first use).
                    if let Some(tls) = tls_failure(s) {
                        self.forget(addr);
                        return Err(ClientError::TlsRefused(format!("{addr}: {tls}")));
                    }
                }
                match answer {
                    Ok(r) => {
                        self.preferred.store(idx, Ordering::Relaxed);
                        return Ok(r.into_inner());
                    }
                    Err(s) if said_retry_safe(&s) || never_sent(&s) => {
                        self.forget(addr);
                        failures.push(format!("{addr}: {}", s.message()));
                    }
                    Err(s) if unclear(&s) => {
                        // The connection broke or the node went quiet: we cannot know whether it got
                        // the request. Idempotent operations move on; the others report it.
                        self.forget(addr);
                        if idempotence == Idempotence::ServerSaysSafe {
                            return Err(ClientError::Indeterminate(format!("{addr}: {}", s.message())));
                        }
                        failures.push(format!("{addr}: {}", s.message()));
                    }
                    Err(s) => return Err(ClientError::from_status(&s)),
                }
            }
            round += 1;
            if tokio::time::Instant::now() >= deadline {
                let last: Vec<String> = failures.iter().rev().take(n).rev().cloned().collect();
                return Err(ClientError::Unavailable(format!(
                    "no node could serve the request within {:?} ({})",
                    self.options.retry_for,
                    last.join("; ")
                )));
            }
            tokio::time::sleep(Duration::from_millis((100 * round as u64).min(1000))).await;
        }
    }
}
