//! Headless Chromium over WebDriver: Debian's `chromium` and `chromium-driver`, driven with
//! fantoccini. Missing browsers skip the tests with a reason (CI installs them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Why the browser tests cannot run here, if they cannot.
pub fn missing() -> Option<String> {
    for p in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(p).exists() {
            return Some(format!(
                "{p} is missing; install Debian's chromium and chromium-driver (scripts/setup.sh does)"
            ));
        }
    }
    None
}

pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub fn start() -> Driver {
        let port = crate::common::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A fresh browser (no cookies) speaking `lang`, its viewport 1366×768.
    pub async fn browser(&self, lang: &str) -> Browser {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1366,768", "--hide-scrollbars", format!("--lang={lang}")],
                "prefs": {"intl.accept_languages": lang},
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("cannot open a Chromium session");
        Browser { client }
    }
}

pub struct Browser {
    pub client: Client,
}

/// Where screenshots go: the test's target dir, and docs/ui when ARCHIPEL_UI_DOCS=1.
pub fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(e) => panic!("no `{css}` on {}: {e}\n{}", self.url().await, self.body().await),
        }
    }

    pub async fn h1(&self) -> String {
        self.text("h1").await
    }

    pub async fn body(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let e = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}`: {e}"));
        e.clear().await.ok();
        e.send_keys(value).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        let e = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}`: {e}"));
        e.click().await.unwrap();
    }

    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// Signs in with `token` on the sign-in page the browser is sent to.
    pub async fn sign_in(&self, ui: &str, token: &str) {
        self.goto(&format!("{ui}/connexion")).await;
        self.fill("#token", token).await;
        self.click("form.stack button[type=submit]").await;
        // Done once the browser left the sign-in page, or it says why not.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = !self.url().await.contains("/ui/connexion");
            if left || self.client.find(Locator::Css("[role=alert]")).await.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sign-in never finished: {}",
                self.body().await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until `css`'s text contains `needle` (the page may reload itself meanwhile).
    pub async fn wait_text(&self, css: &str, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                if let Ok(t) = e.text().await {
                    if t.contains(needle) {
                        return t;
                    }
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "`{css}` never showed `{needle}` on {}:\n{}",
                    self.url().await,
                    self.body().await
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Saves a 1366×768 screenshot as `name.png` (and in docs/ui with ARCHIPEL_UI_DOCS=1).
    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(shots_dir().join(format!("{name}.png")), &png).unwrap();
        if std::env::var("ARCHIPEL_UI_DOCS").as_deref() == Ok("1") {
            let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/ui");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::write(docs.join(format!("{name}.png")), &png).unwrap();
        }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
