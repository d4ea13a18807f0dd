//! One model for every background worker (scrubber, repairer, …): a name, a status anyone can
//! read, and pause / resume / start-now controls. `archipel scrub` and `archipel repair` drive them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use archipel_proto::worker::WorkerInfo;
use tokio::sync::{watch, Notify};

pub struct WorkerHandle {
    status: Mutex<WorkerInfo>,
    paused: watch::Sender<bool>,
    kick: Notify,
}

impl WorkerHandle {
    pub fn new(name: &str) -> Arc<Self> {
        Arc::new(Self {
            status: Mutex::new(WorkerInfo {
                name: name.to_owned(),
                state: "idle".into(),
                ..Default::default()
            }),
            paused: watch::channel(false).0,
            kick: Notify::new(),
        })
    }

    pub fn name(&self) -> String {
        self.snapshot().name
    }

    pub fn update(&self, f: impl FnOnce(&mut WorkerInfo)) {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn snapshot(&self) -> WorkerInfo {
        let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if *self.paused.borrow() {
            s.state = "paused".into();
        }
        s
    }

    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    /// Ends an idle wait now (and resumes a paused worker): the operator's "start".
    pub fn start_now(&self) {
        self.resume();
        self.wake();
    }

    /// Ends an idle wait now, leaving a pause in force: for the node's own reasons to look again
    /// (a layout change), which must not undo an operator's pause.
    pub fn wake(&self) {
        self.kick.notify_one();
    }

    /// Returns once the worker is not paused.
    pub async fn wait_if_paused(&self) {
        let mut rx = self.paused.subscribe();
        while *rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Sleeps up to `dur`, or less if someone asks for a start.
    pub async fn idle(&self, dur: Duration) {
        let _ = tokio::time::timeout(dur, self.kick.notified()).await;
    }
}

#[derive(Default)]
pub struct Workers {
    list: Mutex<Vec<Arc<WorkerHandle>>>,
}

impl Workers {
    pub fn register(&self, handle: Arc<WorkerHandle>) {
        self.list.lock().unwrap_or_else(|p| p.into_inner()).push(handle);
    }

    pub fn get(&self, name: &str) -> Option<Arc<WorkerHandle>> {
        self.list
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|w| w.name() == name)
            .cloned()
    }

    pub fn all(&self) -> Vec<WorkerInfo> {
        self.list
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|w| w.snapshot())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pause_resume_and_kick() {
        let w = WorkerHandle::new("scrub");
        w.pause();
        assert_eq!(w.snapshot().state, "paused");
        let w2 = w.clone();
        let waiter = tokio::spawn(async move { w2.wait_if_paused().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        w.resume();
        waiter.await.unwrap();
        let w3 = w.clone();
        let sleeper = tokio::spawn(async move { w3.idle(Duration::from_secs(60)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        w.start_now();
        tokio::time::timeout(Duration::from_secs(1), sleeper)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn a_wake_ends_an_idle_wait_but_keeps_a_pause() {
        let w = WorkerHandle::new("repair");
        w.pause();
        let w2 = w.clone();
        let sleeper = tokio::spawn(async move { w2.idle(Duration::from_secs(60)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        w.wake();
        tokio::time::timeout(Duration::from_secs(1), sleeper)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(w.snapshot().state, "paused");
    }
}
