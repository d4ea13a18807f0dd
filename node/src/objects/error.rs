use tonic::Status;

use crate::grpc::retry_safe;
use crate::node::RaftOpError;

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("{0}")]
    Invalid(String),
    #[error("namespace `{0}` does not exist; create it with `archipel ns create {0}`")]
    NoNamespace(String),
    #[error("namespace `{0}` already exists with other settings")]
    NamespaceExists(String),
    #[error("no object `{key}` in namespace `{namespace}`")]
    NotFound { namespace: String, key: String },
    #[error("`{namespace}/{key}` is retention-locked until {until} (WORM namespace): it cannot be overwritten or deleted before")]
    RetentionLocked {
        namespace: String,
        key: String,
        until: String,
    },
    /// The object's own lock (retention or legal hold) forbids this, for anyone.
    #[error("`{namespace}/{key}`: {why}")]
    LockRefused {
        namespace: String,
        key: String,
        why: String,
    },
    /// Only a privileged certificate, with a reason, may do this.
    #[error("{0}")]
    LockForbidden(String),
    #[error("the upload declared {declared} bytes but sent {sent}; nothing was stored")]
    SizeMismatch { declared: u64, sent: u64 },
    /// Nothing was stored; the client may retry, here or elsewhere.
    #[error("cannot store the object now: {0}; nothing was stored")]
    Unavailable(String),
    #[error("the object changed while this request ran; retry")]
    Conflict,
    /// Too few healthy shards: the object cannot be returned correctly.
    #[error("cannot read `{namespace}/{key}`: {reason}")]
    DataLoss {
        namespace: String,
        key: String,
        reason: String,
    },
    /// Too few shards answered, but not too few are sound: nodes are down or slow. Retry-safe.
    #[error("cannot read `{namespace}/{key}` now: {reason}; the missing shards are out of reach, not known to be lost: retry later")]
    ShardsUnreachable {
        namespace: String,
        key: String,
        reason: String,
    },
    #[error("the upload was abandoned by the client; nothing was stored")]
    Abandoned,
    #[error(transparent)]
    Raft(#[from] RaftOpError),
    #[error("namespace `{namespace}` is encrypted, but node {node} has no master key: give it the cluster's master.key ([encryption] master_key_file in node.toml, or master.key in its [tls] dir) and restart it; see docs/encryption.md")]
    NoMasterKey { namespace: String, node: u64 },
    /// The master key does not open a namespace's data key (another cluster's key, altered record).
    #[error("{0}; see docs/encryption.md")]
    Key(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ObjectError> for Status {
    fn from(e: ObjectError) -> Self {
        let msg = e.to_string();
        match e {
            ObjectError::Invalid(_) | ObjectError::SizeMismatch { .. } => Status::invalid_argument(msg),
            ObjectError::NoNamespace(_) | ObjectError::NotFound { .. } => Status::not_found(msg),
            ObjectError::NamespaceExists(_) => Status::already_exists(msg),
            ObjectError::RetentionLocked { .. } | ObjectError::LockRefused { .. } => Status::failed_precondition(msg),
            ObjectError::LockForbidden(_) => Status::permission_denied(msg),
            ObjectError::Unavailable(_) | ObjectError::ShardsUnreachable { .. } => retry_safe(Status::unavailable(msg)),
            ObjectError::Conflict => Status::aborted(msg),
            ObjectError::DataLoss { .. } => Status::data_loss(msg),
            ObjectError::Abandoned => Status::cancelled(msg),
            ObjectError::Raft(r) => crate::grpc::status_of_raft(r),
            // Configuration, not load: said plainly rather than retried elsewhere.
            ObjectError::NoMasterKey { .. } | ObjectError::Key(_) => Status::failed_precondition(msg),
            ObjectError::Internal(_) => Status::internal(msg),
        }
    }
}
