//! One archive front: the referentials, the catalog, ingest, search and the logbook over one
//! cluster client. Stateless: everything it knows it reads from the cluster or rebuilds.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use archipel_client::Client;
use archipel_pronom::Identifier;

use crate::auth::{Authenticator, Principal, Role};
use crate::catalog::Catalog;
use crate::error::{ArchiveError, Result};
use crate::journal::Journal;
use crate::referentials::Referentials;
use crate::search::Indexes;
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct ArchiveConfig {
    /// Where uploaded SIPs wait while they are checked (a local scratch directory).
    pub spool_dir: PathBuf,
    /// Where this front caches its per-tenant search indexes (local, disposable: deleting it costs a rebuild from
    /// the catalog; one front per directory, enforced by a lock). `None` keeps them in RAM. Default
    /// `<spool_dir>/search`.
    pub search_dir: Option<PathBuf>,
    /// SIPs larger than this are refused before they are read.
    pub max_sip_bytes: u64,
    /// `archipel dev` only: unauthenticated loopback calls act for every tenant.
    pub dev_trust_loopback: bool,
    /// How often the logbooks are sealed.
    pub seal_interval: Duration,
    /// An RFC 3161 time-stamping authority for seals; without it seals are signed by the cluster key.
    pub tsa_url: Option<String>,
    /// PEM trust anchors (and intermediates) for the TSA's certificate: tokens are then verified
    /// in full, at seal time and by `logbook verify`.
    pub tsa_ca: Option<PathBuf>,
    /// Transfers checked at once by this front.
    pub ingest_workers: usize,
    /// Header deadline and connection cap of the HTTP listener.
    pub http: crate::http::HttpLimits,
    /// An upload that sends nothing for this long is dropped, with its spool file.
    pub body_idle_timeout: Duration,
    /// Largest JSON (or other buffered) request body; SIP uploads have `max_sip_bytes`.
    pub max_request_body_bytes: usize,
    /// New tenants get an object namespace encrypted at rest, with the tenant as key owner
    /// (docs/encryption.md). On by default; the nodes then need the cluster master key.
    pub encrypt_tenant_namespaces: bool,
    /// Files up to this size are stored in tar packs rather than one object each
    /// (`ingest::pack`); 0 stores every file alone.
    pub pack_files_up_to: u64,
    /// The day access decisions are taken on (`access::clock`); the system clock but in tests.
    pub access_clock: crate::access::AccessClock,
    /// Most units one communication request may name.
    pub max_delivery_units: usize,
    /// How long a built DIP stays downloadable.
    pub dip_ttl: Duration,
    /// The official SEDA schemas incoming messages are checked against; without them SEDA
    /// messages are refused (`seda_xsd`).
    pub seda_schemas: Option<crate::seda_xsd::SedaSchemas>,
    /// A DIP build whose record has not changed for this long (its front writes progress every
    /// second) is taken for stopped and rebuilt by this front (`delivery::resume`).
    pub dip_stale_after: Duration,
    /// Tests only: DIP builds pause after each object while this file exists.
    pub dip_pause_file: Option<PathBuf>,
    /// Tests only: transfers pause before their catalog commit while this file exists.
    pub ingest_pause_file: Option<PathBuf>,
}

impl ArchiveConfig {
    pub fn new(spool_dir: PathBuf) -> Self {
        Self {
            search_dir: Some(spool_dir.join("search")),
            spool_dir,
            max_sip_bytes: 64 << 30,
            dev_trust_loopback: false,
            seal_interval: Duration::from_secs(600),
            tsa_url: None,
            tsa_ca: None,
            ingest_workers: 2,
            http: crate::http::HttpLimits::default(),
            body_idle_timeout: Duration::from_secs(60),
            max_request_body_bytes: 2 << 20,
            encrypt_tenant_namespaces: true,
            pack_files_up_to: crate::ingest::pack::PACK_MEMBER_MAX,
            access_clock: crate::access::AccessClock::Cluster,
            max_delivery_units: 10_000,
            dip_ttl: Duration::from_secs(7 * 24 * 3600),
            seda_schemas: None,
            dip_stale_after: Duration::from_secs(60),
            dip_pause_file: None,
            ingest_pause_file: None,
        }
    }
}

pub struct Archive {
    pub config: ArchiveConfig,
    pub store: Store,
    pub refs: Referentials,
    pub catalog: Catalog,
    pub auth: Authenticator,
    pub journal: Journal,
    pub search: Indexes,
    pub search_sync: crate::searching::SearchSync,
    /// None when no PRONOM signature files were configured: formats are then taken as declared.
    pub identifier: Option<Arc<Identifier>>,
    pub ingest_slots: tokio::sync::Semaphore,
    /// The last elimination analysis of each tenant (`disposal::analyse`).
    pub analyses: crate::disposal::analysis_cache::Analyses,
    /// The DIP plans this front prepared lately (`delivery::plans`).
    pub dip_plans: crate::delivery::plans::Plans,
}

impl Archive {
    pub async fn new(client: Client, config: ArchiveConfig, identifier: Option<Arc<Identifier>>) -> Result<Arc<Self>> {
        std::fs::create_dir_all(&config.spool_dir).map_err(|e| {
            ArchiveError::Internal(format!(
                "cannot create the spool directory {}: {e}",
                config.spool_dir.display()
            ))
        })?;
        let search = match &config.search_dir {
            Some(dir) => Indexes::on_disk(dir).map_err(|e| ArchiveError::Invalid(e.to_string()))?,
            None => Indexes::in_ram(),
        };
        let store = Store::new(client);
        let tsa_trust = match &config.tsa_ca {
            Some(path) => Some(
                crate::logbook::TsaTrust::load(path).map_err(|e| ArchiveError::Invalid(format!("--tsa-ca: {e}")))?,
            ),
            None => None,
        };
        let journal = Journal::new(store.clone(), config.tsa_url.clone(), tsa_trust).await?;
        Ok(Arc::new(Self {
            refs: Referentials::new(store.clone(), config.encrypt_tenant_namespaces),
            catalog: Catalog::new(store.clone()),
            auth: Authenticator::new(store.clone()),
            search,
            search_sync: Default::default(),
            ingest_slots: tokio::sync::Semaphore::new(config.ingest_workers.max(1)),
            analyses: Default::default(),
            dip_plans: Default::default(),
            journal,
            identifier,
            store,
            config,
        }))
    }

    /// Checks that `who` may act in `tenant` with one of `roles`, and that the tenant exists.
    /// A refusal is written in the tenant's logbook.
    pub async fn authorize(&self, who: &Principal, tenant: &str, roles: &[Role]) -> Result<()> {
        if let Err(e) = who.require(tenant, roles) {
            // Only existing tenants get a logbook: probes of made-up names go to the platform's.
            let book = match self.refs.tenant(tenant).await {
                Ok(_) => tenant,
                Err(_) => crate::journal::PLATFORM,
            };
            self.journal.denied(book, tenant, who, &e).await;
            return Err(e);
        }
        self.refs.tenant(tenant).await.map(|_| ())
    }

    /// Platform administration.
    pub async fn authorize_operator(&self, who: &Principal) -> Result<()> {
        if let Err(e) = who.require_operator() {
            self.journal.denied(crate::journal::PLATFORM, "", who, &e).await;
            return Err(e);
        }
        Ok(())
    }
}
