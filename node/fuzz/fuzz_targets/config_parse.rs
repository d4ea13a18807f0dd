//! Any UTF-8 text as node.toml: parsed and validated by `NodeConfig::parse`.
//!
//! archipel-node links RocksDB, so this target compiles the node's own `config.rs` and `size.rs`
//! and `net_limits.rs` in place (same source, no copy) with stand-ins for the names it takes
//! from `tls` and `crypto`.
#![no_main]
#![allow(dead_code)]

#[path = "../../src/config.rs"]
mod config;
#[path = "../../src/net_limits.rs"]
mod net_limits;
#[path = "../../src/size.rs"]
mod size;

/// The two names `config.rs` uses from `archipel_node::tls`, as they are there.
mod tls {
    use std::path::PathBuf;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TlsFiles {
        pub ca: PathBuf,
        pub cert: PathBuf,
        pub key: PathBuf,
    }

    pub mod issue {
        pub const CA_CERT: &str = "ca.pem";
        pub const NODE_CERT: &str = "node.pem";
        pub const NODE_KEY: &str = "node.key";
    }
}

/// The one name `config.rs` uses from `archipel_node::crypto`, as it is there.
mod crypto {
    pub const MASTER_KEY_FILE: &str = "master.key";
}

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = config::NodeConfig::parse(text);
    // Deterministic, and a config that validates has the invariants the node relies on.
    let second = config::NodeConfig::parse(text);
    assert_eq!(first.is_ok(), second.is_ok());
    if let Ok(c) = first {
        assert!(c.node_id >= 1);
        assert!(config::validate_site_name(&c.site).is_ok());
    }
});
