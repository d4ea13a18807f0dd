//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "archipel",
    version,
    about = "Archipel: a shared electronic archive spread over partner sites"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct ClusterArgs {
    /// Addresses of cluster nodes (host:port, comma-separated); any one that answers will do.
    #[arg(long, env = "ARCHIPEL_CLUSTER", global = true)]
    pub cluster: Option<String>,
    /// Directory with ca.pem, client.pem and client.key for mutual TLS (see `archipel cert`).
    #[arg(long, env = "ARCHIPEL_TLS_DIR", global = true)]
    pub tls_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a storage node.
    Server {
        /// Path to the node's TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Start a local multi-site cluster, one process per node, for trying Archipel and for tests.
    Dev(DevArgs),
    /// Show the nodes, the Raft leader and a health verdict. Exit code: 0 ok, 3 degraded, 4 unavailable.
    Status {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
        /// How long to wait for each node, in milliseconds.
        #[arg(long, default_value_t = 1500)]
        probe_timeout_ms: u32,
    },
    /// Cluster-wide operations.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Node membership.
    Node {
        #[command(subcommand)]
        command: NodeCommand,
    },
    /// Store a file (or stdin with `-`) as NS/KEY.
    Put {
        /// namespace/key
        target: String,
        /// A file, or - for standard input.
        input: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Fetch NS/KEY into a file (or stdout with `-` or nothing). A file appears only once the
    /// object is complete and verified; a device or pipe (/dev/null, a FIFO) is written into.
    Get {
        target: String,
        output: Option<String>,
        /// Start at this byte.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Read at most this many bytes.
        #[arg(long)]
        length: Option<u64>,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Size, BLAKE3, EC profile and shard locations of NS/KEY.
    Stat {
        target: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// List objects in NS, optionally under a key prefix: `archipel ls NS[/PREFIX]`.
    Ls {
        target: String,
        /// Stop after this many objects.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Delete NS/KEY (refused in a WORM namespace before the retention date, and while the
    /// object's own lock holds it: see `archipel lock`).
    Rm {
        target: String,
        /// Delete although a GOVERNANCE retention of the object's own is in force (operator or
        /// control-authority certificate; needs --reason, logged by the cluster).
        #[arg(long, requires = "reason")]
        bypass_governance: bool,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// An object's own lock: retention (GOVERNANCE or COMPLIANCE until a date) and legal hold.
    Lock {
        #[command(subcommand)]
        command: LockCommand,
    },
    /// Object namespaces.
    Ns {
        #[command(subcommand)]
        command: NsCommand,
    },
    /// Fixity scrubbing on every node.
    Scrub {
        #[command(subcommand)]
        command: ScrubCommand,
    },
    /// Shard repair (runs on the Raft leader).
    Repair {
        #[command(subcommand)]
        command: RepairCommand,
    },
    /// Benchmark against this machine's own limit (starts a local cluster unless --cluster).
    Bench(crate::cmd::bench::BenchArgs),
    /// Identify file formats (PRONOM PUIDs) natively, in parallel over directories.
    Identify(crate::cmd::identify::IdentifyArgs),
    /// The archive layer: SEDA transfers, tenants, agreements, search, logbook.
    Archive {
        // Boxed: the archive's commands carry many options, the other variants few.
        #[command(subcommand)]
        command: Box<crate::cmd::archive::ArchiveCommand>,
    },
    /// The cluster PKI: CA, node and client certificates, revocation.
    Cert {
        #[command(subcommand)]
        command: crate::cmd::cert::CertCommand,
    },
    /// The replicated metadata keyspace (for operators and scripts).
    Meta {
        #[command(subcommand)]
        command: MetaCommand,
    },
    /// The S3 gateway: serve the S3 API over the cluster, manage tenants' access keys.
    S3 {
        #[command(subcommand)]
        command: crate::cmd::s3::S3Command,
    },
}

#[derive(Args)]
pub struct DevArgs {
    /// Directory holding every node's data; reused on later starts.
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long, default_value_t = 3)]
    pub sites: usize,
    #[arg(long, default_value_t = 2)]
    pub nodes_per_site: usize,
    /// Node i listens on base-port + i.
    #[arg(long, default_value_t = 7400)]
    pub base_port: u16,
    /// Port of the archive front (0: any free port); it trusts unauthenticated calls from this machine.
    #[arg(long, default_value_t = 8480)]
    pub archive_port: u16,
    /// Port of the Vitam door (mutual TLS, client certificates of the dev CA; 0: any free port).
    #[arg(long, default_value_t = 8443)]
    pub vitam_port: u16,
    /// Port of the S3 gateway (0: any free port; default 8490, or any free port when 8490 is
    /// taken); a dev access key is printed with it.
    #[arg(long)]
    pub s3_port: Option<u16>,
    /// Each node's repair traffic limit (e.g. 100MiB, 0 = unlimited), as `[repair] max_bytes_per_sec`;
    /// `archipel bench` lifts it to measure what repair can do.
    #[arg(long, default_value = "100MiB")]
    pub repair_rate: String,
    /// Each node's `[raft] snapshot_after_logs`, with `keep_logs_after_snapshot` a tenth of it
    /// (default: the node's own, 10 000 and 1 000); `archipel bench scale` lowers it so that
    /// small runs build and send snapshots too.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub snapshot_after_logs: Option<u64>,
    #[command(flatten)]
    pub ui: crate::cmd::archive::ui::UiArgs,
}

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Bootstrap a new cluster on one node (the first of --cluster unless --node is given).
    Init {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        node: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum NodeCommand {
    /// Add the node listening at ADDR; it joins as a learner and then votes if the site rule wants it.
    Add {
        addr: String,
        /// The site the node must be configured for.
        #[arg(long)]
        site: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Move every shard off a node (it takes no new ones), before removing it.
    Drain {
        id: u64,
        /// Wait until the node holds no shard, showing progress.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout_secs: u64,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Take a node out of the cluster for good (its id is never reused).
    Remove {
        id: u64,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Identity and Raft view of one node.
    Info {
        addr: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum MetaCommand {
    Put {
        namespace: String,
        key: String,
        value: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    Get {
        namespace: String,
        key: String,
        /// Read the contacted node's state, which may lag.
        #[arg(long)]
        stale: bool,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    Delete {
        namespace: String,
        key: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Compare-and-swap: write --new (or delete) only if the condition holds. Exit code 1 if it did not.
    Cas {
        namespace: String,
        key: String,
        #[arg(long, conflicts_with_all = ["expect_value", "expect_revision"])]
        expect_absent: bool,
        #[arg(long)]
        expect_value: Option<String>,
        #[arg(long)]
        expect_revision: Option<u64>,
        #[arg(long, required_unless_present = "delete")]
        new: Option<String>,
        #[arg(long)]
        delete: bool,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    Scan {
        namespace: String,
        #[arg(default_value = "")]
        prefix: String,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        stale: bool,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum NsCommand {
    /// Create a namespace.
    Create {
        name: String,
        /// Erasure-coding profile k+m (default: derived from the cluster layout).
        #[arg(long)]
        ec: Option<String>,
        /// Make the namespace WORM: objects cannot be overwritten or deleted for this long,
        /// e.g. 30d, 10y, 3600s.
        #[arg(long)]
        worm_retention: Option<String>,
        /// Encrypt the namespace's objects at rest (needs the cluster master key on the nodes,
        /// see docs/encryption.md). Archive namespaces are encrypted by default.
        #[arg(long, requires = "owner")]
        encrypt: bool,
        /// The tenant whose key wraps the namespace's data key (with --encrypt).
        #[arg(long, requires = "encrypt")]
        owner: Option<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// List namespaces.
    List {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum ScrubCommand {
    /// Per node: share of shards verified this cycle, errors found, repairs, ETA.
    Status {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Begin a scrub cycle now (on every node, or --node ID).
    Start {
        #[arg(long)]
        node: Option<u64>,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Pause scrubbing.
    Pause {
        #[arg(long)]
        node: Option<u64>,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Resume paused scrubbing.
    Resume {
        #[arg(long)]
        node: Option<u64>,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum RepairCommand {
    /// Shards awaiting repair and what the repairer is doing.
    Status {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Look for repair work now instead of at the next poll.
    Start {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Hold repairs on every node (damage is still found and queued) until `repair resume` or a
    /// node restart; for maintenance, or to inspect damage before it is rebuilt.
    Pause {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Let paused repairs go on.
    Resume {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum LockCommand {
    /// Show NS/KEY's lock.
    Get {
        target: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Change NS/KEY's lock; what is not given stays as it is. Anyone who may write the object
    /// may extend a retention or set a legal hold. Shortening a GOVERNANCE retention needs
    /// --bypass-governance, clearing a legal hold an operator or control-authority certificate,
    /// both with --reason. A COMPLIANCE retention can never be shortened.
    Set {
        target: String,
        /// governance, compliance, or none (removes the retention).
        #[arg(long)]
        mode: Option<String>,
        /// Retention date: YYYY-MM-DD (midnight UTC) or RFC 3339.
        #[arg(long, conflicts_with = "days")]
        until: Option<String>,
        /// Retention of this many days from now.
        #[arg(long)]
        days: Option<u64>,
        /// on or off.
        #[arg(long)]
        legal_hold: Option<String>,
        #[arg(long)]
        bypass_governance: bool,
        /// Why (required to bypass a retention or clear a legal hold; kept with the lock).
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
}
