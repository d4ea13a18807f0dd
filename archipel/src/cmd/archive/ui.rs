//! The web interface's options, shared by `archipel archive serve` and `archipel dev`, and the
//! dev cluster's sign-in.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use archipel_archive::auth::Role;
use archipel_archive::service::Archive;

#[derive(clap::Args, Clone, Debug)]
pub struct UiArgs {
    /// Do not serve the web interface (/ui/) beside the REST API.
    #[arg(long)]
    pub no_ui: bool,
    /// A web session unused this many seconds ends.
    #[arg(long, default_value_t = 1800, env = "ARCHIPEL_UI_IDLE_TIMEOUT_SECS")]
    pub ui_idle_timeout_secs: u64,
    /// Mark the web session cookies `Secure`: the front is reached over HTTPS through a TLS proxy.
    #[arg(long)]
    pub ui_secure_cookies: bool,
}

impl UiArgs {
    pub fn config(&self) -> anyhow::Result<Option<archipel_ui::UiConfig>> {
        if self.no_ui {
            return Ok(None);
        }
        if self.ui_idle_timeout_secs == 0 {
            anyhow::bail!("--ui-idle-timeout-secs must be 1 or more");
        }
        Ok(Some(archipel_ui::UiConfig {
            idle_timeout: Duration::from_secs(self.ui_idle_timeout_secs),
            secure_cookies: self.ui_secure_cookies,
            ..Default::default()
        }))
    }
}

/// The dev cluster's tenant for trying the interface.
pub const DEV_TENANT: &str = "demo";
const DEV_ARCHIVAL_AGENCY: &str = "ARCHIPEL-DEMO";

/// An archivist token of the dev tenant (created with the tenant on first start), kept in
/// `data/ui-dev-token` so a restart prints the same one.
pub async fn dev_sign_in(archive: &Arc<Archive>, data: &Path) -> anyhow::Result<String> {
    if archive.refs.tenant(DEV_TENANT).await.is_err() {
        archive
            .refs
            .add_tenant(DEV_TENANT, "Archives de démonstration", DEV_ARCHIVAL_AGENCY)
            .await?;
    }
    let path = data.join("ui-dev-token");
    if let Ok(saved) = std::fs::read_to_string(&path) {
        if archive.auth.authenticate(saved.trim()).await.is_ok() {
            return Ok(saved.trim().to_owned());
        }
    }
    let issued = archive
        .auth
        .create(
            Some(DEV_TENANT),
            Role::Archivist,
            None,
            "archipel dev: web interface sign-in",
        )
        .await?;
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(issued.token.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(issued.token)
}
