//! Any bytes as a Raft log command, decoded as the node decodes Raft payloads (bincode, fixed-int
//! encoding, 64 MiB limit): never a panic or an unbounded allocation, and what decodes re-encodes
//! to bytes that decode to the same command.
//!
//! archipel-node links RocksDB, so the command types and the codec are compiled in place from
//! node/src (same source, no copy); they need nothing but serde and bincode.
#![no_main]
#![allow(dead_code)]

#[path = "../../src/cluster_map.rs"]
mod cluster_map;
#[path = "../../src/kv.rs"]
mod kv;

// A path on an inline module makes its children's paths relative to that directory.
#[path = "../../src/raft"]
mod raft {
    #[path = "codec.rs"]
    pub mod codec;
    #[path = "command.rs"]
    pub mod command;
}

use libfuzzer_sys::fuzz_target;
use raft::codec;
use raft::command::{Command, CommandResult};

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = codec::decode::<Command>(data) {
        let bytes = codec::encode(&cmd).expect("a decoded command encodes");
        let again: Command = codec::decode(&bytes).expect("an encoded command decodes");
        assert_eq!(again, cmd);
    }
    // Replies travel the same way (a follower forwarding to the leader).
    if let Ok(result) = codec::decode::<CommandResult>(data) {
        let bytes = codec::encode(&result).expect("a decoded result encodes");
        let again: CommandResult = codec::decode(&bytes).expect("an encoded result decodes");
        assert_eq!(again, result);
    }
    // A batch of commands, as an AppendEntries carries them.
    let _ = codec::decode::<Vec<Command>>(data);
});
