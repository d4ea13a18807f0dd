//! Inter-site latency without netem: an NFQUEUE rule sends every packet a container sends on its
//! WAN interface to a queue, and a helper (this binary, `__delay-queue`, started inside the
//! container's network namespace with nsenter) accepts each packet `delay` after it arrived.
//! Used when the kernel lacks the netem qdisc (CONFIG_NET_SCH_NETEM). The rule has
//! `--queue-bypass`, so packets flow undelayed if the helper is gone.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

pub const HELPER_ARG: &str = "__delay-queue";
/// The helper never outlives this, whatever happens to the campaign.
pub const HELPER_MAX: Duration = Duration::from_secs(120);

/// `__delay-queue QUEUE DELAY_MS`: runs until killed or `HELPER_MAX`.
pub fn helper_main(args: &[String]) -> Result<()> {
    let queue_num: u16 = args.first().context("queue number missing")?.parse()?;
    let delay = Duration::from_millis(args.get(1).context("delay missing")?.parse()?);
    let mut q = nfq::Queue::open().context("cannot open a netfilter queue socket")?;
    q.bind(queue_num).context("cannot bind the queue")?;
    q.set_copy_range(queue_num, 0)?;
    q.set_fail_open(queue_num, true)?;
    q.set_recv_gso(queue_num, true)?;
    q.set_queue_max_len(queue_num, 1 << 16)?;
    q.set_nonblocking(true);
    let started = Instant::now();
    let mut held: VecDeque<(Instant, nfq::Message)> = VecDeque::new();
    while started.elapsed() < HELPER_MAX {
        let mut idle = true;
        loop {
            match q.recv() {
                Ok(mut msg) => {
                    msg.set_verdict(nfq::Verdict::Accept);
                    held.push_back((Instant::now() + delay, msg));
                    idle = false;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading the queue"),
            }
        }
        let now = Instant::now();
        while held.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, msg)) = held.pop_front() {
                q.verdict(msg).context("releasing a packet")?;
                idle = false;
            }
        }
        if idle {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    for (_, msg) in held {
        q.verdict(msg)?;
    }
    Ok(())
}
