//! Objects: streaming put from any `AsyncRead`, streaming get into any `AsyncWrite`, with
//! failover and end-to-end BLAKE3 verification of whole-object reads.

use std::path::Path;

use archipel_proto::object::objects_client::ObjectsClient;
use archipel_proto::object::{
    get_object_chunk, put_object_chunk, CreateNamespaceRequest, DeleteObjectRequest, GetNamespaceRequest,
    GetObjectLockRequest, GetObjectRequest, ListNamespacesRequest, ListObjectsRequest, Namespace, NamespaceSpec,
    ObjectInfo, ObjectLock, ObjectLockSpec, PutHeader, PutObjectChunk, SetObjectLockRequest, StatObjectRequest,
};
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::conn::Idempotence;
use crate::{Client, ClientError};

/// Upload chunk size: large enough to amortise RPC framing, small enough for the 8 MiB limit.
const UPLOAD_CHUNK: usize = 1 << 20;
/// Attempts to resume a download on another node after a broken stream.
const READ_RESUMES: usize = 3;

/// Called with the number of bytes transferred so far.
pub type Progress<'a> = &'a (dyn Fn(u64) + Send + Sync);

impl Client {
    /// Creates a namespace stored in the clear; see [`Client::create_namespace_encrypted`].
    pub async fn create_namespace(
        &self,
        name: &str,
        ec_profile: Option<&str>,
        worm_retention_secs: u64,
    ) -> Result<Namespace, ClientError> {
        self.create_namespace_with(name, ec_profile, worm_retention_secs, None)
            .await
    }

    /// Creates a namespace whose objects are encrypted at rest under a data key wrapped for
    /// `owner` (the tenant). The nodes need the cluster master key (docs/encryption.md).
    pub async fn create_namespace_encrypted(
        &self,
        name: &str,
        ec_profile: Option<&str>,
        worm_retention_secs: u64,
        owner: &str,
    ) -> Result<Namespace, ClientError> {
        self.create_namespace_with(name, ec_profile, worm_retention_secs, Some(owner))
            .await
    }

    async fn create_namespace_with(
        &self,
        name: &str,
        ec_profile: Option<&str>,
        worm_retention_secs: u64,
        encryption_owner: Option<&str>,
    ) -> Result<Namespace, ClientError> {
        let req = CreateNamespaceRequest {
            spec: Some(NamespaceSpec {
                name: name.into(),
                ec_profile: ec_profile.unwrap_or_default().into(),
                worm_retention_secs,
                encryption_owner: encryption_owner.unwrap_or_default().into(),
            }),
        };
        self.call(Idempotence::Safe, |ch| {
            let req = req.clone();
            async move { ObjectsClient::new(ch).create_namespace(req).await }
        })
        .await
    }

    pub async fn namespace(&self, name: &str) -> Result<Namespace, ClientError> {
        let req = GetNamespaceRequest { name: name.into() };
        self.call(Idempotence::Safe, |ch| {
            let req = req.clone();
            async move { ObjectsClient::new(ch).get_namespace(req).await }
        })
        .await
    }

    pub async fn list_namespaces(&self) -> Result<Vec<Namespace>, ClientError> {
        let reply = self
            .call(Idempotence::Safe, |ch| async move {
                ObjectsClient::new(ch).list_namespaces(ListNamespacesRequest {}).await
            })
            .await?;
        Ok(reply.namespaces)
    }

    /// Stores `reader`'s bytes as `namespace/key`. With `size`, the upload must have exactly that
    /// many bytes. The object is visible only once fully stored; on error nothing is. The reader
    /// cannot be rewound, so a failure after data was sent is returned, not retried: see
    /// [`Client::put_object_file`] for retries.
    pub async fn put_object<R>(
        &self,
        namespace: &str,
        key: &str,
        reader: R,
        size: Option<u64>,
        progress: Option<Progress<'_>>,
    ) -> Result<ObjectInfo, ClientError>
    where
        R: AsyncRead + Unpin,
    {
        self.put_object_locked(namespace, key, reader, size, None, progress)
            .await
    }

    /// [`Client::put_object`], committing the object with a lock of its own (retention and/or
    /// legal hold; see `ObjectLockSpec`): the object is never visible unlocked.
    pub async fn put_object_locked<R>(
        &self,
        namespace: &str,
        key: &str,
        mut reader: R,
        size: Option<u64>,
        lock: Option<ObjectLockSpec>,
        progress: Option<Progress<'_>>,
    ) -> Result<ObjectInfo, ClientError>
    where
        R: AsyncRead + Unpin,
    {
        let (addr, channel) = self.any_channel().await?;
        let (tx, rx) = mpsc::channel::<PutObjectChunk>(4);
        let header = PutObjectChunk {
            part: Some(put_object_chunk::Part::Header(PutHeader {
                namespace: namespace.into(),
                key: key.into(),
                size,
                lock,
            })),
        };
        let _ = tx.send(header).await;
        let mut client = ObjectsClient::new(channel)
            .max_encoding_message_size(8 << 20)
            .max_decoding_message_size(8 << 20);
        let call = tokio::spawn(async move { client.put_object(ReceiverStream::new(rx)).await });
        let mut sent = 0u64;
        // Read straight into fresh buffers that become the messages: no zeroing, no copy.
        let mut buf = bytes::BytesMut::new();
        let read_error = loop {
            buf.reserve(UPLOAD_CHUNK);
            let n = match reader.read_buf(&mut buf).await {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) => break Some(e),
            };
            let chunk = PutObjectChunk {
                part: Some(put_object_chunk::Part::Data(buf.split().freeze())),
            };
            if tx.send(chunk).await.is_err() {
                break None; // the call ended early; its result says why
            }
            sent += n as u64;
            if let Some(p) = progress {
                p(sent);
            }
        };
        if let Some(e) = read_error {
            // Abort the upload: dropping the call's task resets the stream without finishing it.
            call.abort();
            return Err(ClientError::InvalidArgument(format!(
                "reading the input failed after {sent} bytes: {e}"
            )));
        }
        drop(tx);
        match call.await {
            Ok(Ok(reply)) => Ok(reply.into_inner()),
            // Only the node's explicit word makes a failed upload safe to repeat: a broken
            // connection after the last byte may hide a committed object.
            Ok(Err(status)) if status.metadata().get("x-archipel-retry").is_some() => {
                Err(ClientError::Unavailable(format!("{addr}: {}", status.message())))
            }
            Ok(Err(status)) if status.code() == tonic::Code::Unavailable => {
                Err(ClientError::Indeterminate(format!("{addr}: {}", status.message())))
            }
            Ok(Err(status)) => Err(ClientError::from_status(&status)),
            Err(e) => Err(ClientError::Indeterminate(format!("upload task failed: {e}"))),
        }
    }

    /// Stores a file, retrying on another node when the failure left nothing stored.
    pub async fn put_object_file(
        &self,
        namespace: &str,
        key: &str,
        path: &Path,
        progress: Option<Progress<'_>>,
    ) -> Result<ObjectInfo, ClientError> {
        let deadline = tokio::time::Instant::now() + self.options.retry_for;
        loop {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|e| ClientError::InvalidArgument(format!("cannot open {}: {e}", path.display())))?;
            let size = file
                .metadata()
                .await
                .map_err(|e| ClientError::InvalidArgument(format!("cannot stat {}: {e}", path.display())))?
                .len();
            let reader = tokio::io::BufReader::with_capacity(UPLOAD_CHUNK, file);
            match self.put_object(namespace, key, reader, Some(size), progress).await {
                // Retried only when nothing was stored; an unknown outcome is returned (in a WORM
                // namespace a repeat would be refused although the first attempt may have landed).
                Err(ClientError::Unavailable(e)) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!("upload of {namespace}/{key} failed ({e}); retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                other => return other,
            }
        }
    }

    /// Writes `namespace/key` (or `length` bytes from `offset`) into `writer` and returns its
    /// info. A broken stream resumes on another node; a whole-object read is checked against
    /// the object's BLAKE3 before returning Ok.
    pub async fn get_object<W>(
        &self,
        namespace: &str,
        key: &str,
        offset: u64,
        length: Option<u64>,
        writer: &mut W,
        progress: Option<Progress<'_>>,
    ) -> Result<ObjectInfo, ClientError>
    where
        W: AsyncWrite + Unpin,
    {
        self.read_object(namespace, key, offset, length, ReadOut::Writer(writer), progress)
            .await
    }

    /// [`Self::get_object`], handing each chunk as received to `chunks` instead of copying it
    /// into a writer (a reader that parses or forwards the bytes saves a copy per byte).
    pub async fn get_object_chunks(
        &self,
        namespace: &str,
        key: &str,
        offset: u64,
        length: Option<u64>,
        chunks: &mpsc::Sender<Bytes>,
    ) -> Result<ObjectInfo, ClientError> {
        self.read_object::<tokio::io::Sink>(namespace, key, offset, length, ReadOut::Chunks(chunks), None)
            .await
    }

    async fn read_object<W>(
        &self,
        namespace: &str,
        key: &str,
        offset: u64,
        length: Option<u64>,
        mut out: ReadOut<'_, W>,
        progress: Option<Progress<'_>>,
    ) -> Result<ObjectInfo, ClientError>
    where
        W: AsyncWrite + Unpin,
    {
        let mut written = 0u64;
        let mut info: Option<ObjectInfo> = None;
        let mut hasher = blake3::Hasher::new();
        // Only a read of the whole object can be checked against its BLAKE3; a range is not
        // hashed (a DIP reads packs by ranges: hashing them was CPU spent for nothing).
        let mut whole = false;
        let mut last_error = None;
        for _ in 0..=READ_RESUMES {
            let req = GetObjectRequest {
                namespace: namespace.into(),
                key: key.into(),
                offset: offset + written,
                length: length.map(|l| l.saturating_sub(written)),
            };
            let stream = self
                .call(Idempotence::Safe, |ch| {
                    let req = req.clone();
                    async move {
                        ObjectsClient::new(ch)
                            .max_decoding_message_size(80 << 20)
                            .get_object(req)
                            .await
                    }
                })
                .await;
            let mut stream = match stream {
                Ok(s) => s,
                Err(e) => return Err(e),
            };
            let outcome: Result<(), ClientError> = async {
                while let Some(msg) = stream.message().await.map_err(|s| ClientError::from_status(&s))? {
                    match msg.part {
                        Some(get_object_chunk::Part::Info(i)) => {
                            if let Some(first) = &info {
                                if first.object_id != i.object_id {
                                    return Err(ClientError::Conflict(format!(
                                        "{namespace}/{key} was replaced during the download; start again"
                                    )));
                                }
                            } else {
                                whole = offset == 0 && length.is_none_or(|l| l >= i.size);
                                info = Some(i);
                            }
                        }
                        Some(get_object_chunk::Part::Data(d)) => {
                            if whole {
                                hasher.update(&d);
                            }
                            let n = d.len() as u64;
                            out.put(d).await?;
                            written += n;
                            if let Some(p) = progress {
                                p(written);
                            }
                        }
                        None => {}
                    }
                }
                Ok(())
            }
            .await;
            match outcome {
                Ok(()) => {
                    let info = info.ok_or_else(|| ClientError::Server("the node sent no object info".into()))?;
                    out.flush().await?;
                    let expected_len = match length {
                        Some(l) => l.min(info.size.saturating_sub(offset)),
                        None => info.size.saturating_sub(offset),
                    };
                    if written != expected_len {
                        return Err(ClientError::Server(format!(
                            "received {written} bytes, expected {expected_len}"
                        )));
                    }
                    if whole && written == info.size && hasher.finalize().as_bytes().as_slice() != info.blake3 {
                        return Err(ClientError::DataLoss(format!(
                            "{namespace}/{key}: the bytes received do not match the object's BLAKE3"
                        )));
                    }
                    return Ok(info);
                }
                Err(e) if e.is_transient() => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| ClientError::Unavailable("download kept failing".into())))
    }

    pub async fn stat_object(&self, namespace: &str, key: &str) -> Result<ObjectInfo, ClientError> {
        let req = StatObjectRequest {
            namespace: namespace.into(),
            key: key.into(),
        };
        self.call(Idempotence::Safe, |ch| {
            let req = req.clone();
            async move { ObjectsClient::new(ch).stat_object(req).await }
        })
        .await
    }

    /// One page of objects under `prefix`, after `start_after`; the flag says whether more remain.
    pub async fn list_objects(
        &self,
        namespace: &str,
        prefix: &str,
        start_after: &str,
        limit: u32,
    ) -> Result<(Vec<ObjectInfo>, bool), ClientError> {
        let req = ListObjectsRequest {
            namespace: namespace.into(),
            prefix: prefix.into(),
            start_after: start_after.into(),
            limit,
        };
        let reply = self
            .call(Idempotence::Safe, |ch| {
                let req = req.clone();
                async move { ObjectsClient::new(ch).list_objects(req).await }
            })
            .await?;
        Ok((reply.objects, reply.more))
    }

    /// Deletes the object; returns whether it existed.
    pub async fn delete_object(&self, namespace: &str, key: &str) -> Result<bool, ClientError> {
        self.delete_object_with(DeleteObjectRequest {
            namespace: namespace.into(),
            key: key.into(),
            ..Default::default()
        })
        .await
    }

    /// Deletes although a GOVERNANCE retention of the object's own is in force: needs an operator
    /// or control-authority certificate and a reason, which the cluster logs. COMPLIANCE
    /// retentions, legal holds and the namespace's WORM retention still refuse.
    pub async fn delete_object_bypassing_governance(
        &self,
        namespace: &str,
        key: &str,
        reason: &str,
    ) -> Result<bool, ClientError> {
        self.delete_object_with(DeleteObjectRequest {
            namespace: namespace.into(),
            key: key.into(),
            bypass_governance: true,
            reason: reason.into(),
        })
        .await
    }

    /// The object's own lock (all defaults when it has none).
    pub async fn object_lock(&self, namespace: &str, key: &str) -> Result<ObjectLock, ClientError> {
        let req = GetObjectLockRequest {
            namespace: namespace.into(),
            key: key.into(),
        };
        self.call(Idempotence::Safe, |ch| {
            let req = req.clone();
            async move { ObjectsClient::new(ch).get_object_lock(req).await }
        })
        .await
    }

    /// Replaces the object's lock with `lock`. Extending a retention or setting a legal hold is
    /// open to any writer; shortening a GOVERNANCE retention needs `bypass_governance`, and
    /// clearing a legal hold an operator or control-authority certificate, both with a reason.
    /// A COMPLIANCE retention can never be shortened. Repeating a change is harmless, so an
    /// unknown outcome is retried.
    pub async fn set_object_lock(
        &self,
        namespace: &str,
        key: &str,
        lock: ObjectLockSpec,
        bypass_governance: bool,
        reason: &str,
    ) -> Result<ObjectLock, ClientError> {
        let req = SetObjectLockRequest {
            namespace: namespace.into(),
            key: key.into(),
            lock: Some(lock),
            bypass_governance,
            reason: reason.into(),
        };
        self.call(Idempotence::Safe, |ch| {
            let req = req.clone();
            async move { ObjectsClient::new(ch).set_object_lock(req).await }
        })
        .await
    }

    async fn delete_object_with(&self, req: DeleteObjectRequest) -> Result<bool, ClientError> {
        // Not retried after an unknown outcome: it could delete a newer object under the same key.
        let reply = self
            .call(Idempotence::ServerSaysSafe, |ch| {
                let req = req.clone();
                async move { ObjectsClient::new(ch).delete_object(req).await }
            })
            .await?;
        Ok(reply.existed)
    }
}

/// Where a read's bytes go.
enum ReadOut<'a, W> {
    Writer(&'a mut W),
    /// Each chunk as received, not copied.
    Chunks(&'a mpsc::Sender<Bytes>),
}

impl<W: AsyncWrite + Unpin> ReadOut<'_, W> {
    async fn put(&mut self, chunk: Bytes) -> Result<(), ClientError> {
        match self {
            ReadOut::Writer(w) => w.write_all(&chunk).await.map_err(output_failed),
            ReadOut::Chunks(tx) => tx
                .send(chunk)
                .await
                .map_err(|_| ClientError::InvalidArgument("the reader of the object's bytes went away".into())),
        }
    }

    async fn flush(&mut self) -> Result<(), ClientError> {
        match self {
            ReadOut::Writer(w) => w.flush().await.map_err(output_failed),
            ReadOut::Chunks(_) => Ok(()),
        }
    }
}

fn output_failed(e: std::io::Error) -> ClientError {
    ClientError::InvalidArgument(format!("writing the output failed: {e}"))
}
