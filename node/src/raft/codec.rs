//! bincode encoding of openraft messages on the wire, with a size limit on decode.

use bincode::Options;
use serde::{de::DeserializeOwned, Serialize};

/// Upper bound of one decoded Raft message: an AppendEntries batch or a snapshot chunk.
pub const MAX_RAFT_MESSAGE_BYTES: u64 = 64 << 20;

fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_limit(MAX_RAFT_MESSAGE_BYTES)
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, bincode::Error> {
    options().serialize(value)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, bincode::Error> {
    options().deserialize(bytes)
}
