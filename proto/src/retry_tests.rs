//! Which failures prove a request never left the client (so it may go to another node).

use super::never_sent;
use tonic::Status;

/// A real hyper "canceled": a request handed to a connection whose task is gone, as when a node
/// was killed while this client held an idle connection to it (CI saw it in cluster_raft).
async fn canceled_by_hyper() -> hyper::Error {
    let (io, _peer) = tokio::io::duplex(1 << 16);
    let (mut send, connection) = hyper::client::conn::http2::handshake::<_, _, tonic::body::Body>(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(io),
    )
    .await
    .expect("the handshake only writes the preface");
    drop(connection);
    send.send_request(http::Request::new(tonic::body::Body::empty()))
        .await
        .expect_err("no connection task takes the request")
}

#[tokio::test]
async fn a_request_hyper_handed_back_was_never_sent() {
    let canceled = canceled_by_hyper().await;
    assert!(canceled.is_canceled(), "{canceled:?}");
    let status = Status::from_error(Box::new(canceled));
    assert_eq!(status.code(), tonic::Code::Cancelled);
    assert!(never_sent(&status), "{status:?}");
}

#[test]
fn a_connection_that_could_not_be_opened_sent_nothing() {
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    let status = Status::from_error(Box::new(tonic::ConnectError(Box::new(refused))));
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(never_sent(&status), "{status:?}");
}

#[test]
fn a_broken_connection_or_a_servers_answer_may_follow_a_sent_request() {
    // A broken pipe may come after the request was written whole: its outcome is unknown.
    let broken = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stream closed because of a broken pipe");
    assert!(!never_sent(&Status::from_error(Box::new(broken))));
    // The same words from a server are not hyper's verdict: judged by type, not by message.
    assert!(!never_sent(&Status::cancelled("operation was canceled")));
    assert!(!never_sent(&Status::unavailable(
        "tcp connect error: Connection refused"
    )));
}
