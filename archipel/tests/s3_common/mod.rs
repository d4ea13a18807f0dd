//! A test cluster with `archipel s3 serve` in front, and the real S3 clients (awscli, rclone,
//! s3cmd) pointed at it. Each client runs with a private HOME so no user configuration leaks in.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use super::common::{bin, free_port, pki, TestCluster, Tuning};

pub struct Gateway {
    pub cluster: TestCluster,
    pub endpoint: String,
    pub dir: tempfile::TempDir,
    child: Child,
}

#[derive(Clone)]
pub struct Key {
    pub access: String,
    pub secret: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which of the clients are installed (scripts/setup.sh installs them all).
pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Gateway {
    /// Three sites, one node each, and a gateway on a free port.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`Gateway::start`] with extra environment for the gateway process (fault injection).
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        let cluster = TestCluster::start(&["a", "b", "c"], 1, Tuning::default());
        let dir = tempfile::tempdir().unwrap();
        let (child, endpoint) = spawn_gateway(&cluster, dir.path(), env);
        Self {
            cluster,
            endpoint,
            dir,
            child,
        }
    }

    /// Stops the gateway process (if it still runs) and starts a new one on the same cluster
    /// and seal key, with `env`; the endpoint changes.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, endpoint) = spawn_gateway(&self.cluster, self.dir.path(), env);
        self.child = child;
        self.endpoint = endpoint;
    }

    /// Waits for the gateway process to end (a test that made it crash); its exit status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }

    pub fn create_key(&self, tenant: &str, read_only: bool) -> Key {
        let mut args = vec!["s3", "key", "create", "--tenant", tenant, "--json", "--seal-key"];
        let seal = self.dir.path().join("seal.key");
        args.push(seal.to_str().unwrap());
        if read_only {
            args.push("--read-only");
        }
        let out = self.cluster.cli_ok(&args);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        Key {
            access: v["access_key"].as_str().unwrap().into(),
            secret: v["secret_key"].as_str().unwrap().into(),
        }
    }

    fn home(&self, key: &Key) -> PathBuf {
        let home = self.dir.path().join(format!("home-{}", key.access));
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        // SigV4 everywhere, presigned URLs included (awscli 2.9 presigns with SigV2 otherwise).
        std::fs::write(
            home.join(".aws/config"),
            "[default]\ns3 =\n    signature_version = s3v4\n",
        )
        .unwrap();
        home
    }

    /// `aws --endpoint-url … ARGS` with `key`.
    pub fn aws(&self, key: &Key, args: &[&str]) -> Output {
        Command::new("aws")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home(key))
            .env("AWS_ACCESS_KEY_ID", &key.access)
            .env("AWS_SECRET_ACCESS_KEY", &key.secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PAGER", "")
            .arg("--endpoint-url")
            .arg(&self.endpoint)
            .args(args)
            .output()
            .unwrap()
    }

    pub fn aws_ok(&self, key: &Key, args: &[&str]) -> String {
        let out = self.aws(key, args);
        assert!(
            out.status.success(),
            "aws {args:?} failed: {}\n{}\ngateway log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `aws ARGS` expected to fail with S3 error `code`.
    pub fn aws_fails_with(&self, key: &Key, args: &[&str], code: &str) {
        let out = self.aws(key, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "aws {args:?} should have failed with {code}");
        assert!(
            stderr.contains(code),
            "aws {args:?} should fail with {code}, got: {stderr}"
        );
    }

    /// `rclone ARGS` with a remote named `arc` for `key`.
    pub fn rclone(&self, key: &Key, args: &[&str]) -> Output {
        Command::new("rclone")
            .env("HOME", self.home(key))
            // rclone refuses a custom CA bundle on a plain-HTTP endpoint.
            .env_remove("AWS_CA_BUNDLE")
            .env("RCLONE_CONFIG", self.home(key).join("rclone.conf"))
            .env("RCLONE_CONFIG_ARC_TYPE", "s3")
            .env("RCLONE_CONFIG_ARC_PROVIDER", "Other")
            .env("RCLONE_CONFIG_ARC_ACCESS_KEY_ID", &key.access)
            .env("RCLONE_CONFIG_ARC_SECRET_ACCESS_KEY", &key.secret)
            .env("RCLONE_CONFIG_ARC_ENDPOINT", &self.endpoint)
            .env("RCLONE_CONFIG_ARC_FORCE_PATH_STYLE", "true")
            .args(args)
            .output()
            .unwrap()
    }

    pub fn rclone_ok(&self, key: &Key, args: &[&str]) -> String {
        let out = self.rclone(key, args);
        assert!(
            out.status.success(),
            "rclone {args:?} failed: {}\ngateway log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `s3cmd ARGS` with a config file for `key`.
    pub fn s3cmd(&self, key: &Key, args: &[&str]) -> Output {
        let host = self.endpoint.trim_start_matches("http://");
        let config = self.home(key).join("s3cmd.cfg");
        std::fs::write(
            &config,
            format!(
                "[default]\naccess_key = {}\nsecret_key = {}\nhost_base = {host}\nhost_bucket = {host}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n",
                key.access, key.secret
            ),
        )
        .unwrap();
        Command::new("s3cmd")
            .env("HOME", self.home(key))
            .arg("-c")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    }

    pub fn s3cmd_ok(&self, key: &Key, args: &[&str]) -> String {
        let out = self.s3cmd(key, args);
        assert!(
            out.status.success(),
            "s3cmd {args:?} failed: {}\n{}\ngateway log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn spawn_gateway(cluster: &TestCluster, dir: &Path, env: &[(&str, &str)]) -> (Child, String) {
    let listen = format!("127.0.0.1:{}", free_port());
    let log = dir.join("gateway.log");
    let mut child = Command::new(bin())
        .env(archipel_client::TLS_DIR_ENV, &pki().operator_dir)
        .envs(env.iter().copied())
        .args([
            "s3",
            "serve",
            "--cluster",
            &cluster.addrs(),
            "--listen",
            &listen,
            "--seal-key",
        ])
        .arg(dir.join("seal.key"))
        .stdout(Stdio::piped())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap(),
        )
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("ARCHIPEL_S3=")
        .unwrap_or_else(|| {
            panic!(
                "the gateway printed {line:?}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        })
        .to_owned();
    (child, endpoint)
}

/// A file of `size` pseudo-random bytes.
pub fn random_file(path: &Path, size: usize, seed: u64) {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut data = vec![0u8; size];
    rng.fill_bytes(&mut data);
    std::fs::write(path, data).unwrap();
}

pub fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    hex_string(&sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
