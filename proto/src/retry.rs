//! The protocol's retry contract, kept by both ends: the header by which a node says a failed
//! request was not applied (so the caller may send it elsewhere), and which transport failures
//! prove a request never left its sender. Judged by the error's source chain, never by message
//! text, which changes between versions and which a server could send too.

use tonic::Status;

/// Set by a node on a failure that applied nothing.
pub const RETRY_HEADER: &str = "x-archipel-retry";

/// Whether the node that answered `status` said nothing was applied.
pub fn said_retry_safe(status: &Status) -> bool {
    status.metadata().get(RETRY_HEADER).is_some()
}

/// The request never left its sender: the connection could not be opened (tonic's
/// `ConnectError`), or hyper handed the request back unsent because the connection was found
/// closed — a node killed while the sender held an idle connection to it. hyper reports
/// "canceled" only for such requests; a status the server sent, or a timeout, carries neither.
pub fn never_sent(status: &Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(err) = source {
        if err.is::<tonic::ConnectError>() {
            return true;
        }
        if err
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_canceled)
        {
            return true;
        }
        source = err.source();
    }
    false
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
