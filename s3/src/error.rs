//! The gateway's own errors (key administration, records) and their S3 translation.

use archipel_client::ClientError;
use s3s::{S3Error, S3ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Cluster(#[from] ClientError),
    #[error("tenant `{0}` is not a valid tenant name: use 1-32 lowercase letters, digits or '-'")]
    BadTenant(String),
    #[error("access key `{0}` does not exist")]
    NoSuchKey(String),
    #[error("the seal key file {path}: {reason}")]
    SealKeyFile { path: String, reason: String },
    #[error("access key `{key}` was sealed under seal key {sealed_with}, but this gateway holds seal key {holds}: start the gateway with the same --seal-key file as `archipel s3 key create`")]
    WrongSealKey {
        key: String,
        sealed_with: String,
        holds: String,
    },
    #[error("the stored record {what} is damaged ({reason}); it was not written by this gateway version")]
    CorruptRecord { what: String, reason: String },
    #[error("the record {0} changed under this request too many times; try again")]
    Contended(String),
}

impl GatewayError {
    pub(crate) fn corrupt(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::CorruptRecord {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

pub type Result<T, E = GatewayError> = std::result::Result<T, E>;

/// The S3 answer for a cluster failure: clients retry 503 (SlowDown/ServiceUnavailable), not 500.
pub(crate) fn cluster_error(e: ClientError) -> S3Error {
    let code = match &e {
        ClientError::NotFound(_) => S3ErrorCode::NoSuchKey,
        ClientError::PermissionDenied(_) => S3ErrorCode::AccessDenied,
        ClientError::FailedPrecondition(_) => S3ErrorCode::AccessDenied,
        ClientError::Conflict(_) => S3ErrorCode::OperationAborted,
        ClientError::Unavailable(_) | ClientError::Indeterminate(_) => S3ErrorCode::ServiceUnavailable,
        ClientError::InvalidArgument(_) => S3ErrorCode::InvalidArgument,
        _ => S3ErrorCode::InternalError,
    };
    S3Error::with_message(code, e.to_string())
}

impl From<GatewayError> for S3Error {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::Cluster(c) => cluster_error(c),
            GatewayError::Contended(_) => S3Error::with_message(S3ErrorCode::OperationAborted, e.to_string()),
            GatewayError::NoSuchKey(_) | GatewayError::WrongSealKey { .. } => {
                S3Error::with_message(S3ErrorCode::InvalidAccessKeyId, e.to_string())
            }
            other => S3Error::with_message(S3ErrorCode::InternalError, other.to_string()),
        }
    }
}
