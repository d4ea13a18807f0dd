//! Per-link proxies between nodes that each live in their own network namespace (`netns.rs`).
//!
//! In node A's namespace the harness listens on every peer B's address; what A sends there it
//! forwards to B's listener inside B's namespace. So every connection A opens to B crosses the
//! link A→B, which the harness can cut on its own: an asymmetric partition (A cannot reach B,
//! B still reaches A). A cut link is a black hole, not a refusal: new connections are accepted and
//! then hang, and open ones stop moving bytes until the link heals, as when packets are dropped.
//! Link 0→B is the chaos client's (host namespace); it is never cut.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::netns::Netns;

/// The harness's own end (the chaos client), as a link's source.
pub const CLIENT: u64 = 0;

pub struct Member {
    pub id: u64,
    pub addr: SocketAddr,
    pub ns: Arc<Netns>,
}

pub struct Links {
    /// true while the link is open.
    state: Mutex<BTreeMap<(u64, u64), watch::Sender<bool>>>,
    accept_loops: Vec<JoinHandle<()>>,
}

impl Links {
    /// Listens for every link between `members` (and from the client to each), all open.
    pub async fn start(members: &[Member]) -> Result<Self> {
        let mut state = BTreeMap::new();
        let mut accept_loops = Vec::new();
        for to in members {
            let sources = std::iter::once(None).chain(members.iter().filter(|m| m.id != to.id).map(Some));
            for from in sources {
                let from_id = from.map_or(CLIENT, |m| m.id);
                let addr = to.addr;
                let listener = match from {
                    None => bind_retrying(addr)
                        .await
                        .with_context(|| format!("cannot listen on {addr} for the client's link to node {}", to.id))?,
                    Some(m) => {
                        m.ns.run(move || std::net::TcpListener::bind(addr))
                            .await
                            .with_context(|| format!("cannot listen for link {}→{}", m.id, to.id))?
                    }
                };
                listener.set_nonblocking(true)?;
                let listener = TcpListener::from_std(listener)?;
                let (tx, rx) = watch::channel(true);
                state.insert((from_id, to.id), tx);
                accept_loops.push(tokio::spawn(accept_loop(listener, rx, to.ns.clone(), addr)));
            }
        }
        Ok(Self {
            state: Mutex::new(state),
            accept_loops,
        })
    }

    /// Opens (`open`) or cuts the link `from`→`to`; false if there is no such link.
    pub fn set(&self, from: u64, to: u64, open: bool) -> bool {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.get(&(from, to)) {
            Some(tx) => {
                tx.send_replace(open);
                true
            }
            None => false,
        }
    }

    pub fn heal_all(&self) {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for tx in state.values() {
            tx.send_replace(true);
        }
    }

    /// The links cut now, as (from, to).
    #[cfg(test)]
    pub fn cut(&self) -> Vec<(u64, u64)> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.iter().filter(|(_, tx)| !*tx.borrow()).map(|(k, _)| *k).collect()
    }
}

impl Drop for Links {
    fn drop(&mut self) {
        for h in &self.accept_loops {
            h.abort();
        }
        // Open connections end once their watch sender is gone (see `pump`).
    }
}

/// The previous cluster's proxies may still hold the port for a moment after their abort.
async fn bind_retrying(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let mut tries = 0;
    loop {
        match std::net::TcpListener::bind(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

async fn accept_loop(listener: TcpListener, open: watch::Receiver<bool>, ns: Arc<Netns>, addr: SocketAddr) {
    loop {
        let Ok((inbound, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let open = open.clone();
        let ns = ns.clone();
        tokio::spawn(async move {
            let _ = forward(inbound, open, ns, addr).await;
        });
    }
}

async fn forward(inbound: TcpStream, mut open: watch::Receiver<bool>, ns: Arc<Netns>, addr: SocketAddr) -> Result<()> {
    // A cut link: the connection hangs, unanswered, until the link heals.
    open.wait_for(|o| *o).await?;
    let outbound = ns
        .run(move || {
            let s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
            s.set_nonblocking(true)?;
            s.set_nodelay(true)?;
            Ok(s)
        })
        .await?;
    // The peer is down: dropping `inbound` closes it, as a refused connection would end.
    let outbound = TcpStream::from_std(outbound)?;
    inbound.set_nodelay(true)?;
    let (in_r, in_w) = inbound.into_split();
    let (out_r, out_w) = outbound.into_split();
    let up = tokio::spawn(pump(in_r, out_w, open.clone()));
    pump(out_r, in_w, open).await;
    let _ = up.await;
    Ok(())
}

/// Copies bytes while the link is open; while it is cut, holds what it read and waits.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut open: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if open.wait_for(|o| *o).await.is_err() {
            break;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// An echo server inside `ns` on `addr`.
    async fn echo_in(ns: &Netns, addr: SocketAddr) -> JoinHandle<()> {
        let l = ns.run(move || std::net::TcpListener::bind(addr)).await.unwrap();
        l.set_nonblocking(true).unwrap();
        let l = TcpListener::from_std(l).unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        })
    }

    /// Connects from inside `ns` to `addr`, sends a line, true if it comes back within 1 s.
    async fn echoes(ns: &Netns, addr: SocketAddr) -> bool {
        ns.run(move || {
            let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
            s.set_read_timeout(Some(Duration::from_secs(1)))?;
            s.write_all(b"ping")?;
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf)?;
            Ok(&buf == b"ping")
        })
        .await
        .unwrap_or(false)
    }

    #[tokio::test]
    async fn a_cut_link_blocks_one_direction_only() {
        if let Err(e) = crate::backend::netns::available("chaostest-probe").await {
            eprintln!("skipped: {e:#}");
            return;
        }
        let pid = std::process::id();
        let a = Arc::new(Netns::create(&format!("chaostest{pid}-a")).await.unwrap());
        let b = Arc::new(Netns::create(&format!("chaostest{pid}-b")).await.unwrap());
        let (addr_a, addr_b): (SocketAddr, SocketAddr) =
            ("127.0.0.1:17801".parse().unwrap(), "127.0.0.1:17802".parse().unwrap());
        let _ea = echo_in(&a, addr_a).await;
        let _eb = echo_in(&b, addr_b).await;
        let links = Links::start(&[
            Member {
                id: 1,
                addr: addr_a,
                ns: a.clone(),
            },
            Member {
                id: 2,
                addr: addr_b,
                ns: b.clone(),
            },
        ])
        .await
        .unwrap();
        assert!(echoes(&a, addr_b).await, "A reaches B through its proxy");
        assert!(echoes(&b, addr_a).await, "B reaches A");
        assert!(links.set(1, 2, false));
        assert!(!echoes(&a, addr_b).await, "A→B is cut");
        assert!(echoes(&b, addr_a).await, "B→A still works");
        assert_eq!(links.cut(), vec![(1, 2)]);
        links.heal_all();
        assert!(echoes(&a, addr_b).await, "healed");
    }
}
