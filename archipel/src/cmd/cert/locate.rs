//! Which TLS directory a command uses: `--tls-dir`, else `ARCHIPEL_TLS_DIR`, else the one a
//! running `archipel dev` registered for the first address (loopback only). The registry is one
//! small file per address under the user's state directory, holding a path, never key material.

use std::path::{Path, PathBuf};

use anyhow::Context;
use archipel_client::{Client, TlsFiles, TLS_DIR_ENV};

/// A client for `list`, with the TLS directory resolved as described above.
pub fn client_for(list: &str, tls_dir: Option<&Path>) -> anyhow::Result<Client> {
    let dir = tls_dir_for(list, tls_dir);
    Ok(Client::from_list_with_tls(list, dir.map(|d| TlsFiles::from_dir(&d)))?)
}

/// The TLS directory a command for `list` uses, resolved as described above.
pub fn tls_dir_for(list: &str, tls_dir: Option<&Path>) -> Option<PathBuf> {
    tls_dir
        .map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os(TLS_DIR_ENV)
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| list.split(',').next().and_then(|a| dev_tls_dir(a.trim())))
}

/// Records that the dev cluster at `addrs` uses the client bundle in `tls_dir`.
pub fn register_dev_cluster(addrs: &[String], tls_dir: &Path) -> anyhow::Result<()> {
    let Some(registry) = registry_dir() else {
        return Ok(());
    };
    std::fs::create_dir_all(&registry).with_context(|| format!("cannot create {}", registry.display()))?;
    for a in addrs {
        std::fs::write(registry.join(file_name(a)), tls_dir.as_os_str().as_encoded_bytes())
            .with_context(|| format!("cannot write to {}", registry.display()))?;
    }
    Ok(())
}

pub fn unregister_dev_cluster(addrs: &[String]) {
    if let Some(registry) = registry_dir() {
        for a in addrs {
            let _ = std::fs::remove_file(registry.join(file_name(a)));
        }
    }
}

fn dev_tls_dir(addr: &str) -> Option<PathBuf> {
    let host = archipel_node::tls::issue::split_host(addr);
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return None;
    }
    let text = std::fs::read_to_string(registry_dir()?.join(file_name(addr))).ok()?;
    let dir = PathBuf::from(text.trim());
    dir.join("client.pem").exists().then_some(dir)
}

fn registry_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("archipel").join("dev"))
}

fn file_name(addr: &str) -> String {
    addr.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' })
        .collect()
}
