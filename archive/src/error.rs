//! The archive layer's errors: each says what happened and what to do, and maps to one HTTP status.

use archipel_client::ClientError;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// No credential, or one that is unknown, revoked or malformed.
    #[error("not authenticated: {0}")]
    Unauthenticated(String),
    /// A valid credential that does not allow this call. Logged in the tenant's logbook.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Also what another tenant's resources look like: isolation hides their existence.
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("the cluster is unavailable: {0}; retry later")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ArchiveError {
    /// A stable machine-readable code for JSON error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Invalid(_) => "invalid",
            Self::Conflict(_) => "conflict",
            Self::TooLarge(_) => "too_large",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn http_status(&self) -> u16 {
        match self {
            Self::Unauthenticated(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Invalid(_) => 400,
            Self::Conflict(_) => 409,
            Self::TooLarge(_) => 413,
            Self::Unavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }
}

impl From<ClientError> for ArchiveError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::NotFound(m) => Self::NotFound(m),
            ClientError::Conflict(m) => Self::Conflict(m),
            ClientError::InvalidArgument(m) | ClientError::FailedPrecondition(m) => Self::Invalid(m),
            ClientError::Unavailable(_) | ClientError::Indeterminate(_) | ClientError::NoEndpoints => {
                Self::Unavailable(e.to_string())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for ArchiveError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!(
            "a stored record is not valid JSON ({e}); run `archipel archive reindex`"
        ))
    }
}

pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;
