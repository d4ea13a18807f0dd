//! Bytes in and out, streamed: uploads are hashed on their way to the cluster, downloads are
//! piped from the cluster's stream (across the pieces of a multipart object) to the client.
//! Nothing here holds more than a few chunks of an object.

use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use archipel_client::Client;
use bytes::Bytes;
use futures::TryStreamExt;
use md5::Digest;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::Checksum as _;
use s3s::dto::StreamingBlob;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::PollSender;

use crate::records::{Checksums, Piece};

/// Chunks in flight between the cluster and the HTTP client.
const PIPE_CHUNKS: usize = 8;

/// Which `x-amz-checksum-*` algorithms to compute for one upload.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wanted {
    pub crc32: bool,
    pub crc32c: bool,
    pub sha1: bool,
    pub sha256: bool,
}

impl Wanted {
    pub fn add_algorithm(&mut self, name: &str) {
        match name.to_ascii_uppercase().as_str() {
            "CRC32" => self.crc32 = true,
            "CRC32C" => self.crc32c = true,
            "SHA1" => self.sha1 = true,
            "SHA256" => self.sha256 = true,
            _ => {}
        }
    }

    pub fn covering(c: &Checksums) -> Self {
        Self {
            crc32: c.crc32.is_some(),
            crc32c: c.crc32c.is_some(),
            sha1: c.sha1.is_some(),
            sha256: c.sha256.is_some(),
        }
    }

    fn hasher(self) -> ChecksumHasher {
        let mut h = ChecksumHasher::default();
        if self.crc32 {
            h.crc32 = Some(s3s::crypto::Crc32::new());
        }
        if self.crc32c {
            h.crc32c = Some(s3s::crypto::Crc32c::new());
        }
        if self.sha1 {
            h.sha1 = Some(s3s::crypto::Sha1::new());
        }
        if self.sha256 {
            h.sha256 = Some(s3s::crypto::Sha256::new());
        }
        h
    }
}

/// What was measured over an upload's bytes.
pub struct Digests {
    pub md5: [u8; 16],
    pub size: u64,
    pub checksums: Checksums,
}

/// Wraps the request body: counts and hashes every byte read.
pub struct HashingReader<R> {
    inner: R,
    md5: md5::Md5,
    sums: ChecksumHasher,
    size: u64,
}

impl<R: AsyncRead + Unpin> HashingReader<R> {
    pub fn new(inner: R, wanted: Wanted) -> Self {
        Self {
            inner,
            md5: md5::Md5::new(),
            sums: wanted.hasher(),
            size: 0,
        }
    }

    pub fn finish(self) -> Digests {
        let c = self.sums.finalize();
        Digests {
            md5: self.md5.finalize().into(),
            size: self.size,
            checksums: Checksums {
                crc32: c.checksum_crc32,
                crc32c: c.checksum_crc32c,
                sha1: c.checksum_sha1,
                sha256: c.checksum_sha256,
            },
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for HashingReader<R> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let fresh = &buf.filled()[before..];
        let this = &mut *self;
        this.md5.update(fresh);
        this.sums.update(fresh);
        this.size += fresh.len() as u64;
        Poll::Ready(Ok(()))
    }
}

/// The request body as an `AsyncRead`.
pub fn body_reader(body: StreamingBlob) -> impl AsyncRead + Send + Unpin {
    tokio_util::io::StreamReader::new(body.map_err(io::Error::other))
}

/// An `AsyncWrite` that hands each write to a channel: the cluster download writes here, the
/// HTTP response (or a server-side copy) reads the other end.
struct ChannelWriter {
    tx: PollSender<io::Result<Bytes>>,
}

impl AsyncWrite for ChannelWriter {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let gone = || io::Error::new(io::ErrorKind::BrokenPipe, "the reader went away");
        ready!(self.tx.poll_reserve(cx)).map_err(|_| gone())?;
        self.tx.send_item(Ok(Bytes::copy_from_slice(buf))).map_err(|_| gone())?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Streams `range` of the concatenation of `pieces`. A failure mid-way ends the stream with an
/// error (the client sees a broken transfer, never silently short data).
pub fn stream_pieces(
    client: Arc<Client>,
    namespace: String,
    pieces: Vec<Piece>,
    range: Range<u64>,
) -> ReceiverStream<io::Result<Bytes>> {
    let (tx, rx) = mpsc::channel(PIPE_CHUNKS);
    tokio::spawn(async move {
        let mut writer = ChannelWriter {
            tx: PollSender::new(tx.clone()),
        };
        let mut start = 0u64;
        for piece in pieces {
            let end = start + piece.size;
            let from = range.start.max(start);
            let to = range.end.min(end);
            if from < to {
                let outcome = client
                    .get_object(&namespace, &piece.k, from - start, Some(to - from), &mut writer, None)
                    .await;
                if let Err(e) = outcome {
                    tracing::warn!("reading {namespace}/{} failed: {e}", piece.k);
                    let _ = tx
                        .send(Err(io::Error::other(format!("the cluster read failed: {e}"))))
                        .await;
                    return;
                }
            }
            if end >= range.end {
                break;
            }
            start = end;
        }
    });
    ReceiverStream::new(rx)
}

pub fn blob(stream: ReceiverStream<io::Result<Bytes>>) -> StreamingBlob {
    StreamingBlob::wrap(stream)
}

pub fn reader_of(stream: ReceiverStream<io::Result<Bytes>>) -> impl AsyncRead + Send + Unpin {
    tokio_util::io::StreamReader::new(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn hashing_reader_measures_what_passes() {
        let data = b"The quick brown fox jumps over the lazy dog".to_vec();
        let mut wanted = Wanted::default();
        wanted.add_algorithm("crc32");
        wanted.add_algorithm("SHA256");
        let mut r = HashingReader::new(&data[..], wanted);
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        let d = r.finish();
        assert_eq!(out, data);
        assert_eq!(d.size, data.len() as u64);
        assert_eq!(hex::encode(d.md5), "9e107d9d372bb6826bd81d3542a419d6");
        assert_eq!(d.checksums.crc32.as_deref(), Some("QU+jOQ=="));
        assert!(d.checksums.sha256.is_some());
        assert!(d.checksums.crc32c.is_none());
    }
}
