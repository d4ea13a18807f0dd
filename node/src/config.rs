//! Node configuration (`node.toml`): parsed strictly, checked key by key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::size::parse_size;

/// Site names become directory names, metric labels and placement failure domains.
const MAX_SITE_NAME_LEN: usize = 63;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config key `{key}` is invalid: {reason}")]
    Invalid { key: &'static str, reason: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    node_id: u64,
    site: String,
    listen: String,
    advertise: Option<String>,
    data_dir: PathBuf,
    capacity: toml::Value,
    #[serde(default)]
    raft: RaftTuning,
    #[serde(default)]
    log: LogConfig,
    #[serde(default)]
    objects: RawObjects,
    #[serde(default)]
    scrub: ScrubTuning,
    #[serde(default)]
    repair: RepairTuning,
    #[serde(default)]
    network: crate::net_limits::NetworkLimits,
    #[serde(default)]
    rocksdb: RawRocksDb,
    tls: Option<RawTls>,
    #[serde(default)]
    encryption: RawEncryption,
    /// Test rigs only: serve and dial without TLS. Logged loudly at start.
    #[serde(default)]
    insecure_plaintext: bool,
    /// Test rigs only (chaos campaigns): the leader's stamping clock adds the offset in this file
    /// (`time_offset.rs`). Logged loudly at start.
    test_clock_offset_file: Option<PathBuf>,
}

/// `[rocksdb] memory` when not given, per node.
pub const DEFAULT_ROCKSDB_MEMORY: u64 = 256 << 20;
/// Below this, memtables flush so often that writes crawl.
pub const MIN_ROCKSDB_MEMORY: u64 = 16 << 20;

/// `[rocksdb]`: the memory of the metadata store and the packed shards (`rocks_memory.rs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawRocksDb {
    /// Block cache and memtables of both databases together, e.g. "256MiB" or a byte count.
    memory: toml::Value,
}

impl Default for RawRocksDb {
    fn default() -> Self {
        Self {
            memory: toml::Value::Integer(DEFAULT_ROCKSDB_MEMORY as i64),
        }
    }
}

/// `[tls]`: the node's certificate bundle, as `archipel cert issue --node` writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    /// A directory holding ca.pem, node.pem and node.key; each may be overridden below.
    dir: Option<PathBuf>,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    /// Also serve `/metrics` to plaintext HTTP (for a Prometheus without a client certificate).
    /// It reveals node ids, sites and traffic rates, never data.
    #[serde(default)]
    plaintext_metrics: bool,
}

/// `[encryption]`: where the cluster master key is (docs/encryption.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEncryption {
    /// The 32-byte master key file. Default: `master.key` in `[tls] dir`, when that file exists.
    master_key_file: Option<PathBuf>,
}

/// Where this node's master key comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum MasterKeyFile {
    /// None configured and none in the TLS dir: encrypted namespaces are refused on this node.
    None,
    /// `[encryption] master_key_file`: the node does not start without it.
    Required(PathBuf),
    /// `master.key` in `[tls] dir`: used when present.
    IfPresent(PathBuf),
}

/// Fixity scrubbing: every local shard is re-read and verified at least once per interval.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScrubTuning {
    /// Every shard is verified at least once per this many seconds (default 7 days).
    pub interval_secs: u64,
    /// Read rate while foreground requests are in flight; full speed when the node is idle.
    /// 0 = never slow down.
    pub busy_bytes_per_sec: u64,
    /// Shards verified between two writes of fixity evidence.
    pub evidence_batch: usize,
    /// Hard cap on the scrub read rate, idle or not; 0 = none. A cap too low to finish within the
    /// interval is obeyed, and the status says the cycle will be late.
    pub max_bytes_per_sec: u64,
}

impl Default for ScrubTuning {
    fn default() -> Self {
        Self {
            interval_secs: 7 * 24 * 3600,
            busy_bytes_per_sec: 20 << 20,
            evidence_batch: 64,
            max_bytes_per_sec: 0,
        }
    }
}

/// Repair of damaged or lost shards.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepairTuning {
    /// A node unreachable this long is treated as lost and its shards rebuilt elsewhere.
    pub node_down_timeout_secs: u64,
    /// How often the repairer looks for work.
    pub poll_secs: u64,
    /// Rebuild traffic limit (bytes of rebuilt shards per second); 0 = unlimited.
    pub max_bytes_per_sec: u64,
    /// Shards rebuilt at once. Small shards are bound by round trips, not bandwidth.
    pub concurrency: usize,
    /// How often the leader checks every object's placement against the layout and queues
    /// moves for those placed worse than it allows (`repair/placement_check.rs`); 0 = never.
    pub placement_check_secs: u64,
}

impl Default for RepairTuning {
    fn default() -> Self {
        Self {
            // Long enough to ride out a reboot or a short outage without moving data.
            node_down_timeout_secs: 3600,
            poll_secs: 10,
            max_bytes_per_sec: 100 << 20,
            concurrency: 16,
            placement_check_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawObjects {
    stripe_size: String,
    inline_max: String,
    pack_shards_up_to: String,
    gc_interval_secs: u64,
    orphan_grace_secs: u64,
}

impl Default for RawObjects {
    fn default() -> Self {
        Self {
            stripe_size: "4MiB".into(),
            inline_max: "4KiB".into(),
            pack_shards_up_to: "256KiB".into(),
            gc_interval_secs: 600,
            orphan_grace_secs: 3600,
        }
    }
}

/// Object store tuning.
#[derive(Debug, Clone)]
pub struct ObjectTuning {
    /// Object bytes per erasure-coded stripe.
    pub stripe_size: u64,
    /// Objects up to this size are kept inline in their manifest (replicated by Raft).
    pub inline_max: u64,
    /// Shards up to this size (header, stripes, table) are packed in the node's RocksDB rather
    /// than written as files of their own (`shards::packed`); 0 writes every shard as a file.
    pub pack_shards_up_to: u64,
    /// How often the orphan-shard collector runs.
    pub gc_interval: std::time::Duration,
    /// An unreferenced shard or temp file younger than this is left alone: it may belong to a
    /// write still in flight.
    pub orphan_grace: std::time::Duration,
}

/// Raft timing and log compaction. The defaults suit sites linked by a WAN.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftTuning {
    pub heartbeat_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// Build a snapshot after this many applied entries.
    pub snapshot_after_logs: u64,
    /// Entries kept after a snapshot, so that slightly lagging peers catch up from the log.
    pub keep_logs_after_snapshot: u64,
    /// Also build a snapshot this often when anything was applied since the last one.
    pub snapshot_every_secs: u64,
}

impl Default for RaftTuning {
    fn default() -> Self {
        // Election timeouts well above inter-site round trips (tens of ms), so a slow link
        // does not cause spurious elections.
        Self {
            heartbeat_ms: 250,
            election_timeout_min_ms: 1500,
            election_timeout_max_ms: 3000,
            snapshot_after_logs: 10_000,
            keep_logs_after_snapshot: 1_000,
            snapshot_every_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `archipel_node=debug,info`. RUST_LOG overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

/// A validated node configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub node_id: u64,
    pub site: String,
    pub listen: SocketAddr,
    /// The address other nodes and clients use to reach this node.
    pub advertise: String,
    pub data_dir: PathBuf,
    pub capacity_bytes: u64,
    pub raft: RaftTuning,
    pub log: LogConfig,
    pub objects: ObjectTuning,
    pub scrub: ScrubTuning,
    pub repair: RepairTuning,
    pub network: crate::net_limits::NetworkLimits,
    /// `[rocksdb] memory`: RocksDB's block cache and memtables, both databases together.
    pub rocksdb_memory_bytes: u64,
    /// None only with `insecure_plaintext = true`.
    pub tls: Option<crate::tls::TlsFiles>,
    /// `tls.plaintext_metrics`: `/metrics` is also served without TLS.
    pub plaintext_metrics: bool,
    pub master_key: MasterKeyFile,
    /// `test_clock_offset_file`: see `time_offset.rs`.
    pub test_clock_offset_file: Option<PathBuf>,
}

/// Stripes above this make shard messages and decode buffers unwieldy.
const MAX_STRIPE_SIZE: u64 = 64 << 20;
/// Inline objects travel in Raft entries beside their manifest; keep them well under the
/// largest value one entry may carry.
const MAX_INLINE: u64 = 512 << 10;
/// Packed shards are whole RocksDB values: beyond a few MiB, files serve better.
const MAX_PACKED_SHARD: u64 = 4 << 20;

impl NodeConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("<inline>"),
            message: e.to_string(),
        })?;
        raw.validate()
    }
}

impl RawConfig {
    fn validate(self) -> Result<NodeConfig, ConfigError> {
        if self.node_id == 0 {
            return Err(invalid("node_id", "must be 1 or more (0 is reserved)"));
        }
        validate_site_name(&self.site).map_err(|reason| invalid("site", reason))?;
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            invalid(
                "listen",
                format!("`{}` is not an IP:port address, e.g. 0.0.0.0:7400", self.listen),
            )
        })?;
        let advertise = match self.advertise {
            Some(a) => {
                validate_host_port(&a).map_err(|r| invalid("advertise", r))?;
                a
            }
            None if listen.ip().is_unspecified() => {
                return Err(invalid(
                    "advertise",
                    "required when `listen` is a wildcard address: give the host:port peers should dial",
                ))
            }
            None => listen.to_string(),
        };
        if self.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }
        let capacity_bytes = size_value(&self.capacity).map_err(|r| invalid("capacity", r))?;
        if capacity_bytes == 0 {
            return Err(invalid("capacity", "must be more than zero"));
        }
        let r = &self.raft;
        if r.heartbeat_ms == 0 || r.election_timeout_min_ms <= r.heartbeat_ms {
            return Err(invalid(
                "raft.election_timeout_min_ms",
                "must be larger than raft.heartbeat_ms (which must be > 0)",
            ));
        }
        if r.election_timeout_max_ms <= r.election_timeout_min_ms {
            return Err(invalid(
                "raft.election_timeout_max_ms",
                "must be larger than raft.election_timeout_min_ms",
            ));
        }
        if r.snapshot_after_logs == 0 {
            return Err(invalid("raft.snapshot_after_logs", "must be 1 or more"));
        }
        if r.snapshot_every_secs < 10 {
            return Err(invalid("raft.snapshot_every_secs", "must be 10 or more"));
        }
        let o = &self.objects;
        let stripe_size = parse_size(&o.stripe_size).map_err(|r| invalid("objects.stripe_size", r))?;
        if !(64 << 10..=MAX_STRIPE_SIZE).contains(&stripe_size) {
            return Err(invalid("objects.stripe_size", "must be between 64KiB and 64MiB"));
        }
        let inline_max = parse_size(&o.inline_max).map_err(|r| invalid("objects.inline_max", r))?;
        if inline_max > MAX_INLINE {
            return Err(invalid("objects.inline_max", "must be at most 512KiB"));
        }
        let pack_shards_up_to =
            parse_size(&o.pack_shards_up_to).map_err(|r| invalid("objects.pack_shards_up_to", r))?;
        if pack_shards_up_to > MAX_PACKED_SHARD {
            return Err(invalid(
                "objects.pack_shards_up_to",
                "must be at most 4MiB: larger shards are better as files (0 turns packing off)",
            ));
        }
        if o.gc_interval_secs == 0 {
            return Err(invalid("objects.gc_interval_secs", "must be 1 or more"));
        }
        if o.orphan_grace_secs == 0 {
            return Err(invalid(
                "objects.orphan_grace_secs",
                "must be 1 or more: it protects uploads in flight (3600 is a sound value)",
            ));
        }
        let objects = ObjectTuning {
            stripe_size,
            inline_max,
            pack_shards_up_to,
            gc_interval: std::time::Duration::from_secs(o.gc_interval_secs),
            orphan_grace: std::time::Duration::from_secs(o.orphan_grace_secs),
        };
        if self.scrub.interval_secs == 0 {
            return Err(invalid("scrub.interval_secs", "must be 1 or more"));
        }
        if self.scrub.evidence_batch == 0 {
            return Err(invalid("scrub.evidence_batch", "must be 1 or more"));
        }
        if self.repair.poll_secs == 0 || self.repair.node_down_timeout_secs == 0 {
            return Err(invalid(
                "repair.node_down_timeout_secs",
                "repair timings must be 1 or more",
            ));
        }
        self.network.validate().map_err(|(key, reason)| invalid(key, reason))?;
        let rocksdb_memory_bytes = size_value(&self.rocksdb.memory).map_err(|r| invalid("rocksdb.memory", r))?;
        if rocksdb_memory_bytes < MIN_ROCKSDB_MEMORY {
            return Err(invalid(
                "rocksdb.memory",
                "must be at least 16MiB (256MiB is the default; a node with millions of objects reads faster with more)",
            ));
        }
        let plaintext_metrics = self.tls.as_ref().is_some_and(|t| t.plaintext_metrics);
        let master_key = match (
            &self.encryption.master_key_file,
            self.tls.as_ref().and_then(|t| t.dir.as_ref()),
        ) {
            (Some(path), _) if path.as_os_str().is_empty() => {
                return Err(invalid("encryption.master_key_file", "must not be empty"))
            }
            (Some(path), _) => MasterKeyFile::Required(path.clone()),
            (None, Some(dir)) => MasterKeyFile::IfPresent(dir.join(crate::crypto::MASTER_KEY_FILE)),
            (None, None) => MasterKeyFile::None,
        };
        let tls = match (self.tls, self.insecure_plaintext) {
            (Some(_), true) => {
                return Err(invalid(
                    "insecure_plaintext",
                    "cannot be combined with a [tls] section: remove one of them",
                ))
            }
            (Some(t), false) => Some(t.files()?),
            (None, true) => None,
            (None, false) => {
                return Err(invalid(
                    "tls",
                    "a [tls] section is required (dir = \"…\" holding ca.pem, node.pem, node.key from \
                     `archipel cert issue --node ID --site S`); see docs/security.md",
                ))
            }
        };
        Ok(NodeConfig {
            tls,
            plaintext_metrics,
            master_key,
            objects,
            scrub: self.scrub,
            repair: self.repair,
            network: self.network,
            rocksdb_memory_bytes,
            node_id: self.node_id,
            site: self.site,
            listen,
            advertise,
            data_dir: self.data_dir,
            capacity_bytes,
            raft: self.raft,
            log: self.log,
            test_clock_offset_file: self.test_clock_offset_file,
        })
    }
}

impl RawTls {
    fn files(self) -> Result<crate::tls::TlsFiles, ConfigError> {
        let pick = |explicit: Option<PathBuf>, name: &str, key: &'static str| {
            explicit
                .or_else(|| self.dir.as_ref().map(|d| d.join(name)))
                .ok_or_else(|| invalid(key, "not given, and no tls.dir to find it in"))
        };
        Ok(crate::tls::TlsFiles {
            ca: pick(self.ca.clone(), crate::tls::issue::CA_CERT, "tls.ca")?,
            cert: pick(self.cert.clone(), crate::tls::issue::NODE_CERT, "tls.cert")?,
            key: pick(self.key.clone(), crate::tls::issue::NODE_KEY, "tls.key")?,
        })
    }
}

/// A size given as "500GiB" or as a positive byte count.
fn size_value(v: &toml::Value) -> Result<u64, String> {
    match v {
        toml::Value::Integer(n) if *n > 0 => Ok(*n as u64),
        toml::Value::String(s) => parse_size(s),
        other => Err(format!(
            "expected a size such as \"500GiB\" or a byte count, got {other}"
        )),
    }
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// Lowercase letters, digits and `-`, starting with a letter: safe as a label and a path.
pub fn validate_site_name(site: &str) -> Result<(), String> {
    let ok = !site.is_empty()
        && site.len() <= MAX_SITE_NAME_LEN
        && site.starts_with(|c: char| c.is_ascii_lowercase())
        && site
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{site}` is not a site name: use 1-{MAX_SITE_NAME_LEN} lowercase letters, digits or '-', starting with a letter (e.g. `region`)"
        ))
    }
}

fn validate_host_port(addr: &str) -> Result<(), String> {
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(format!("`{addr}` is not a host:port address")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
node_id = 3
site = "metropole"
listen = "127.0.0.1:7403"
data_dir = "/tmp/n3"
capacity = "2TiB"

[tls]
dir = "/etc/archipel/tls"
"#;

    #[test]
    fn parses_a_minimal_config() {
        let c = NodeConfig::parse(GOOD).unwrap();
        assert_eq!(c.node_id, 3);
        assert_eq!(c.advertise, "127.0.0.1:7403");
        assert_eq!(c.capacity_bytes, 2 << 40);
        assert_eq!(c.raft.heartbeat_ms, 250);
        assert_eq!(c.rocksdb_memory_bytes, 256 << 20);
        assert_eq!(c.tls.unwrap().key, PathBuf::from("/etc/archipel/tls/node.key"));
    }

    #[test]
    fn tls_is_required_unless_plaintext_is_asked_for() {
        let no_tls = GOOD.replace("[tls]\ndir = \"/etc/archipel/tls\"\n", "");
        assert!(error_of(&no_tls).contains("`tls`"));
        let plain = NodeConfig::parse(&format!("insecure_plaintext = true\n{no_tls}")).unwrap();
        assert!(plain.tls.is_none());
        assert!(error_of(&format!("insecure_plaintext = true\n{GOOD}")).contains("insecure_plaintext"));
    }

    #[test]
    fn the_master_key_is_found_in_the_tls_dir_or_named() {
        let c = NodeConfig::parse(GOOD).unwrap();
        assert_eq!(
            c.master_key,
            MasterKeyFile::IfPresent(PathBuf::from("/etc/archipel/tls/master.key"))
        );
        let named = NodeConfig::parse(&format!("{GOOD}\n[encryption]\nmaster_key_file = \"/k/master.key\"\n")).unwrap();
        assert_eq!(
            named.master_key,
            MasterKeyFile::Required(PathBuf::from("/k/master.key"))
        );
        assert!(error_of(&format!("{GOOD}\n[encryption]\nmaster_key = \"x\"\n")).contains("master_key"));
    }

    fn error_of(text: &str) -> String {
        NodeConfig::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_key() {
        assert!(error_of(&GOOD.replace("node_id = 3", "node_id = 0")).contains("`node_id`"));
        assert!(error_of(&GOOD.replace("metropole", "Métropole")).contains("`site`"));
        assert!(error_of(&GOOD.replace("127.0.0.1:7403", "localhost")).contains("`listen`"));
        assert!(error_of(&GOOD.replace("\"2TiB\"", "\"lots\"")).contains("`capacity`"));
        assert!(error_of(&GOOD.replace("127.0.0.1:7403", "0.0.0.0:7403")).contains("`advertise`"));
        let unknown = error_of(&format!("{GOOD}\nnod_id = 4\n"));
        assert!(unknown.contains("nod_id"), "{unknown}");
        let missing = error_of(&GOOD.replace("site = \"metropole\"", ""));
        assert!(missing.contains("site"), "{missing}");
        let bad_raft = error_of(&format!("{GOOD}\n[raft]\nheartbeat_ms = 5000\n"));
        assert!(bad_raft.contains("raft.election_timeout_min_ms"), "{bad_raft}");
        let memory = NodeConfig::parse(&format!("{GOOD}\n[rocksdb]\nmemory = \"1GiB\"\n")).unwrap();
        assert_eq!(memory.rocksdb_memory_bytes, 1 << 30);
        let small = error_of(&format!("{GOOD}\n[rocksdb]\nmemory = \"1MiB\"\n"));
        assert!(small.contains("rocksdb.memory") && small.contains("16MiB"), "{small}");
        let bad_net = error_of(&format!("{GOOD}\n[network]\nstream_idle_timeout_secs = 0\n"));
        assert!(bad_net.contains("network.stream_idle_timeout_secs"), "{bad_net}");
    }
}
