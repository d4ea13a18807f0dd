//! A write that may have reached a node is never sent to another: a compare-and-swap or a put
//! sent twice could undo a newer write. The client reports its outcome as unknown instead.
//! (Which failures prove a request never left: archipel-proto's `retry` tests.)

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use archipel_client::proto::meta::meta_server::{Meta, MetaServer};
use archipel_client::proto::meta::*;
use archipel_client::{Client, ClientError, ClientOptions};
use tonic::{Request, Response, Status};

/// Counts the puts it takes; with `hang` set, signals the first put and never answers it.
#[derive(Clone, Default)]
struct FakeMeta {
    puts: Arc<AtomicU64>,
    hang: Arc<Mutex<Option<mpsc::Sender<()>>>>,
}

#[tonic::async_trait]
impl Meta for FakeMeta {
    async fn put(&self, _: Request<PutRequest>) -> Result<Response<PutReply>, Status> {
        let revision = self.puts.fetch_add(1, Ordering::SeqCst) + 1;
        let hang = self.hang.lock().unwrap().take();
        if let Some(arrived) = hang {
            let _ = arrived.send(());
            std::future::pending::<()>().await;
        }
        Ok(Response::new(PutReply { revision }))
    }
    async fn delete(&self, _: Request<DeleteRequest>) -> Result<Response<DeleteReply>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn cas(&self, _: Request<CasRequest>) -> Result<Response<CasReply>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn get(&self, _: Request<GetRequest>) -> Result<Response<GetReply>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn get_many(&self, _: Request<GetManyRequest>) -> Result<Response<GetManyReply>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn scan(&self, _: Request<ScanRequest>) -> Result<Response<ScanReply>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn txn(&self, _: Request<TxnRequest>) -> Result<Response<TxnReply>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn time(&self, _: Request<TimeRequest>) -> Result<Response<TimeReply>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// A fake node on its own runtime; dropping the runtime kills it like SIGKILL kills a process.
struct FakeNode {
    addr: SocketAddr,
    meta: FakeMeta,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FakeNode {
    fn start(meta: FakeMeta) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let service = MetaServer::new(meta.clone());
        runtime.spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
        });
        Self {
            addr,
            meta,
            runtime: Some(runtime),
        }
    }

    fn puts(&self) -> u64 {
        self.meta.puts.load(Ordering::SeqCst)
    }

    /// Drops every task, so the listener and each accepted connection are closed.
    fn kill(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

fn client(endpoints: &[&FakeNode]) -> Client {
    let endpoints: Vec<String> = endpoints.iter().map(|n| n.addr.to_string()).collect();
    let options = ClientOptions {
        retry_for: Duration::from_secs(5),
        ..ClientOptions::default()
    };
    Client::new(&endpoints, options).unwrap()
}

#[test]
fn a_write_lost_in_flight_is_reported_as_unknown() {
    // The node takes the request, then dies before answering: it may have been applied.
    let (arrived, request_arrived) = mpsc::channel();
    let mut first = FakeNode::start(FakeMeta {
        hang: Arc::new(Mutex::new(Some(arrived))),
        ..FakeMeta::default()
    });
    let second = FakeNode::start(FakeMeta::default());
    let client = client(&[&first, &second]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let put = rt.spawn(async move { client.meta_put("test", b"k", b"v").await });
    request_arrived
        .recv_timeout(Duration::from_secs(10))
        .expect("the request reaches the first node");
    first.kill();

    let outcome = rt.block_on(put).unwrap();
    assert!(
        matches!(outcome, Err(ClientError::Indeterminate(_))),
        "a request the node received is not sent again: {outcome:?}"
    );
    assert_eq!(second.puts(), 0, "nothing went to the second node");
}
