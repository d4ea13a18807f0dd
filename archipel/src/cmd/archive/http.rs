//! Talking to an archive front over its REST API.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::StreamExt;
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Where the archive front is and who we are to it.
#[derive(clap::Args, Clone)]
pub struct FrontArgs {
    /// The archive front's URL (`archipel dev` and `archipel archive serve` print it).
    #[arg(long, env = "ARCHIPEL_ARCHIVE", global = true)]
    pub archive: Option<String>,
    /// API token (`archipel archive token create`). Not needed against `archipel dev` from this machine.
    #[arg(long, env = "ARCHIPEL_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
}

pub struct Front {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Front {
    pub fn new(args: &FrontArgs) -> anyhow::Result<Self> {
        let base = args
            .archive
            .clone()
            .context("no archive front: pass --archive URL or set ARCHIPEL_ARCHIVE (archipel dev prints it)")?;
        if !base.starts_with("http://") && !base.starts_with("https://") {
            bail!("`{base}` is not an http(s) URL; ARCHIPEL_ARCHIVE looks like http://127.0.0.1:8480");
        }
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token: args.token.clone(),
            http: reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
                .build()?,
        })
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends and turns an API error body into a readable error.
    pub async fn send(&self, r: RequestBuilder) -> anyhow::Result<Response> {
        let resp = r
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach the archive front at {}: {e}", self.base))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(body);
        bail!("{message} (HTTP {})", status.as_u16())
    }

    pub async fn json<T: DeserializeOwned>(&self, r: RequestBuilder) -> anyhow::Result<T> {
        let resp = self.send(r).await?;
        resp.json()
            .await
            .context("the archive front answered with malformed JSON")
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.json(self.request(Method::GET, path)).await
    }

    /// Streams a file as the request body.
    pub async fn upload(&self, path: &str, file: &Path) -> anyhow::Result<serde_json::Value> {
        let f = tokio::fs::File::open(file)
            .await
            .with_context(|| format!("cannot open {}", file.display()))?;
        let len = f.metadata().await?.len();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(f));
        let r = self
            .request(Method::POST, path)
            .header(reqwest::header::CONTENT_TYPE, "application/zip")
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body);
        self.json(r).await
    }

    /// POSTs the SEDA message in `file` as is.
    pub fn post_xml(&self, path: &str, file: &Path) -> anyhow::Result<RequestBuilder> {
        let xml = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        Ok(self
            .request(Method::POST, path)
            .header(reqwest::header::CONTENT_TYPE, "application/xml")
            .body(xml))
    }

    /// Streams a download to a temporary file beside `out`, synced and renamed once complete
    /// (all the bytes its `Content-Length` announced); returns its size.
    pub async fn download(&self, path: &str, out: &Path) -> anyhow::Result<u64> {
        let resp = self.send(self.request(Method::GET, path)).await?;
        let announced = resp.content_length();
        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
        let mut file = tokio::fs::File::from_std(tmp.reopen()?);
        let mut stream = resp.bytes_stream();
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.context("the download broke; run the command again")?;
            tokio::io::AsyncWriteExt::write_all(&mut file, &chunk).await?;
            written += chunk.len() as u64;
        }
        if announced.is_some_and(|n| n != written) {
            anyhow::bail!(
                "the download stopped after {written} of {} bytes; nothing was written to {}; run the command again",
                announced.unwrap_or(0),
                out.display()
            );
        }
        tokio::io::AsyncWriteExt::flush(&mut file).await?;
        file.sync_all().await?;
        tmp.persist(out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        Ok(written)
    }

    /// Follows the record `v` (at `path`) while its status is `busy`, every half second, with
    /// `progress` of it on one stderr line unless `quiet`; returns it once it has moved on.
    pub async fn follow(
        &self,
        mut v: Value,
        path: &str,
        busy: &str,
        quiet: bool,
        progress: impl Fn(&Value) -> String,
    ) -> anyhow::Result<Value> {
        while v["status"] == busy {
            if !quiet {
                eprint!("\r{}   ", progress(&v));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            v = self.get(path).await?;
        }
        if !quiet {
            eprintln!();
        }
        Ok(v)
    }
}

/// The progress line of a package being built (DIP, restitution, transfer out), in French as
/// archivists read it: `<id> : <what> en construction, 3/10 objets, 1024/4096 octets`.
pub fn package_progress(id: &str, what: &str, v: &Value) -> String {
    let p = &v["progress"];
    format!(
        "{id} : {what} en construction, {}/{} objets, {}/{} octets",
        p["objects_done"], p["objects_total"], p["bytes_done"], p["bytes_total"]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn package_progress_reads_in_french() {
        let v = serde_json::json!({"progress": {"objects_done": 3, "objects_total": 10, "bytes_done": 1024, "bytes_total": 4096}});
        assert_eq!(
            super::package_progress("d1", "DIP", &v),
            "d1 : DIP en construction, 3/10 objets, 1024/4096 octets"
        );
    }
}
