//! Talking to an archive front over its REST API.

use std::path::Path;

use anyhow::{bail, Context};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;

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
}
