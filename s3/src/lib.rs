//! An S3 gateway over an Archipel cluster: a second door for tools that speak S3 (rclone,
//! restic, backup software, a Vitam S3 storage offer), beside the archive layer.
//!
//! Invariants this crate keeps:
//! - It talks to the cluster through the client crate only (`archipel-client`), never to node
//!   internals; the S3 protocol (SigV4, presigned URLs, aws-chunked, XML, routing) is `s3s`'s.
//! - A bucket is a namespace owned by one tenant; an access key belongs to one tenant and never
//!   sees another tenant's buckets (they answer NoSuchBucket, and ListBuckets omits them).
//! - An object becomes visible only when its record is committed in the metadata keyspace, by a
//!   transaction that also checks the bucket and the replaced record: a failed or refused upload
//!   leaves nothing visible, and its data object is deleted.
//! - Bytes stream: uploads go to the cluster as they arrive (hashed on the way), downloads and
//!   server-side copies stream from the cluster; no object is held whole in memory.
//! - Multipart parts are stored once; completing an upload writes a record listing them.
//! - Every data object is announced by an intent before it is stored; the commit of the record
//!   that uses it removes the intent, and the sweep deletes data whose intent expired (on the
//!   leader-stamped clock): a crash between data and record leaves no orphan for ever.
//! - Secrets are stored sealed (XChaCha20-Poly1305 under a seal key kept off the cluster).

mod access;
mod acl;
mod body;
mod buckets;
mod error;
mod framing;
mod gateway;
mod integrity;
mod intents;
pub mod keys;
mod list;
mod lock;
mod lock_ops;
mod multipart;
mod new_object;
mod objects;
pub mod records;
mod server;
mod service;
pub mod signer;

pub use error::GatewayError;
pub use gateway::{Faults, Gateway};
pub use intents::{IntentSweep, DEFAULT_INTENT_TTL};
pub use keys::{default_seal_key_path, KeySummary, Keys, NewKey, SealKey};
pub use server::{service, start, GatewayConfig};
