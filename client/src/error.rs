use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no cluster address given: pass --cluster ADDR[,ADDR…] or set ARCHIPEL_CLUSTER")]
    NoEndpoints,
    #[error("`{addr}` is not a valid node address: {reason}")]
    BadAddress { addr: String, reason: String },
    #[error("the cluster is unavailable: {0}")]
    Unavailable(String),
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("refused: {0}")]
    FailedPrecondition(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The write may or may not have been applied.
    #[error("the outcome is unknown ({0}); read the value back before retrying")]
    Indeterminate(String),
    /// Too few intact shards: the data cannot be returned correctly.
    #[error("data loss: {0}")]
    DataLoss(String),
    #[error("server error: {0}")]
    Server(String),
    /// A plaintext client reached a node that requires mutual TLS.
    #[error("the node requires TLS: pass --tls-dir DIR (holding ca.pem, client.pem, client.key) or set ARCHIPEL_TLS_DIR; `archipel cert issue --client NAME --role R` makes one")]
    TlsRequired(String),
    /// The TLS handshake failed: this client's certificate was refused, or the node's.
    #[error("TLS refused ({0}); check that the certificate comes from this cluster's CA, has not expired and was not revoked (`archipel cert list-revoked`)")]
    TlsRefused(String),
    #[error("cannot use the TLS files: {0}")]
    TlsFiles(String),
}

impl ClientError {
    pub(crate) fn from_status(s: &Status) -> Self {
        let m = s.message().to_owned();
        match s.code() {
            Code::InvalidArgument | Code::OutOfRange => Self::InvalidArgument(m),
            Code::NotFound => Self::NotFound(m),
            Code::AlreadyExists | Code::Aborted => Self::Conflict(m),
            Code::FailedPrecondition => Self::FailedPrecondition(m),
            Code::Unauthenticated if m.starts_with(crate::tls::NODE_REQUIRES_TLS) => Self::TlsRequired(m),
            Code::PermissionDenied | Code::Unauthenticated => Self::PermissionDenied(m),
            Code::Unavailable => Self::Unavailable(m),
            Code::Unknown | Code::DeadlineExceeded | Code::Cancelled => Self::Indeterminate(m),
            Code::DataLoss => Self::DataLoss(m),
            Code::ResourceExhausted => Self::Unavailable(m),
            _ => Self::Server(format!("{:?}: {m}", s.code())),
        }
    }

    /// True when retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Indeterminate(_))
    }
}
