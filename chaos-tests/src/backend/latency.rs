//! Inter-site latency for the compose cluster, on each container's interface of the
//! `archipel-wan` network, entered from the host with `nsenter` (the scratch image has no tools).
//! With `tc qdisc … netem` when the kernel has it; otherwise with an NFQUEUE rule and a delaying
//! helper (see delay_queue.rs). Needs root and iproute2/iptables on the host.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::process::{Child, Command};

use super::delay_queue::HELPER_ARG;
use super::shell::{run, run_quiet};

const WAN: &str = "archipel-wan";
const LIMIT: Duration = Duration::from_secs(20);
const QUEUE: &str = "7";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Netem,
    NfQueue,
}

/// A container whose WAN traffic is delayed, and how to undo it.
pub struct Delayed {
    pid: String,
    iface: String,
    helper: Option<Child>,
}

/// The method that works on this machine, tried in a throwaway network namespace.
pub async fn detect() -> Option<Method> {
    let netem = ["-n", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"];
    if run("unshare", &netem, LIMIT).await.is_ok() {
        return Some(Method::Netem);
    }
    let nfq = [
        "-n",
        "iptables",
        "-w",
        "-A",
        "OUTPUT",
        "-o",
        "lo",
        "-j",
        "NFQUEUE",
        "--queue-num",
        QUEUE,
        "--queue-bypass",
    ];
    if run("unshare", &nfq, LIMIT).await.is_ok() {
        return Some(Method::NfQueue);
    }
    None
}

/// The container's main pid (its network namespace) and its interface on the WAN network.
async fn wan_interface(container: &str) -> Result<(String, String)> {
    let pid = run("docker", &["inspect", "-f", "{{.State.Pid}}", container], LIMIT).await?;
    let pid = pid.trim().to_owned();
    if pid.is_empty() || pid == "0" {
        bail!("{container} is not running");
    }
    let fmt = format!("{{{{(index .NetworkSettings.Networks \"{WAN}\").IPAddress}}}}");
    let ip = run("docker", &["inspect", "-f", &fmt, container], LIMIT).await?;
    let ip = ip.trim();
    if ip.is_empty() {
        bail!("{container} is not on {WAN}");
    }
    let addrs = run("nsenter", &["-t", &pid, "-n", "ip", "-o", "-4", "addr"], LIMIT).await?;
    // "205: eth1    inet 192.168.96.3/20 brd …"
    let iface = addrs
        .lines()
        .find(|l| l.contains(&format!("inet {ip}/")))
        .and_then(|l| l.split_whitespace().nth(1))
        .with_context(|| format!("no interface with {ip} in {container}"))?;
    Ok((pid, iface.to_owned()))
}

fn rule<'a>(pid: &'a str, op: &'a str, iface: &'a str) -> [&'a str; 16] {
    [
        "-t",
        pid,
        "-n",
        "iptables",
        "-w",
        op,
        "OUTPUT",
        "-o",
        iface,
        "-j",
        "NFQUEUE",
        "--queue-num",
        QUEUE,
        "--queue-bypass",
        "-m",
        "comment",
    ]
}

/// Delays every packet the container sends to other sites by `delay_ms`.
pub async fn add(container: &str, delay_ms: u32, method: Method) -> Result<Delayed> {
    let (pid, iface) = wan_interface(container).await?;
    let mut delayed = Delayed {
        pid,
        iface,
        helper: None,
    };
    match method {
        Method::Netem => {
            let delay = format!("{delay_ms}ms");
            let d = &delayed;
            run(
                "nsenter",
                &[
                    "-t", &d.pid, "-n", "tc", "qdisc", "replace", "dev", &d.iface, "root", "netem", "delay", &delay,
                ],
                LIMIT,
            )
            .await?;
        }
        Method::NfQueue => {
            let exe = std::env::current_exe().context("cannot find this executable")?;
            let helper = Command::new("nsenter")
                .args(["-t", &delayed.pid, "-n"])
                .arg(&exe)
                .args([HELPER_ARG, QUEUE, &delay_ms.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .context("cannot start the delay helper")?;
            delayed.helper = Some(helper);
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut args = rule(&delayed.pid, "-I", &delayed.iface).to_vec();
            args.extend(["--comment", "archipel-chaos"]);
            run("nsenter", &args, LIMIT).await?;
        }
    }
    Ok(delayed)
}

pub async fn remove(mut d: Delayed) {
    match d.helper.take() {
        None => {
            run_quiet(
                "nsenter",
                &["-t", &d.pid, "-n", "tc", "qdisc", "del", "dev", &d.iface, "root"],
                LIMIT,
            )
            .await
        }
        Some(mut helper) => {
            let mut args = rule(&d.pid, "-D", &d.iface).to_vec();
            args.extend(["--comment", "archipel-chaos"]);
            run_quiet("nsenter", &args, LIMIT).await;
            // Packets still held are released by the kernel as the queue goes away.
            let _ = helper.start_kill();
            let _ = tokio::time::timeout(LIMIT, helper.wait()).await;
        }
    }
}
