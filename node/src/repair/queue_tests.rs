use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::*;

/// The queues in a map; repairs fail, succeed or find the object lost as the test says.
#[derive(Default)]
struct FakeEnv {
    now: AtomicU64,
    rows: Mutex<BTreeMap<(String, Vec<u8>), KvEntry>>,
    lost: Mutex<BTreeMap<String, LostObject>>,
    always_fails: BTreeSet<String>,
    hangs: BTreeSet<String>,
    unrebuildable: BTreeSet<String>,
    /// The lost record's commit fails (the manifest changed meanwhile).
    lost_record_fails: bool,
    /// Keys in the order their repair was attempted.
    tried: Mutex<Vec<String>>,
    revision: AtomicU64,
}

impl FakeEnv {
    fn damage(&self, key: &str) {
        let revision = self.revision.fetch_add(1, Ordering::Relaxed) + 1;
        let entry = KvEntry {
            ns: NS_DAMAGED.into(),
            key: key.as_bytes().to_vec(),
            value: json!({"namespace": "ns", "key": key, "reason": "test"})
                .to_string()
                .into_bytes(),
            revision,
        };
        self.rows
            .lock()
            .unwrap()
            .insert((NS_DAMAGED.into(), entry.key.clone()), entry);
    }

    fn queued(&self) -> Vec<String> {
        self.rows
            .lock()
            .unwrap()
            .keys()
            .map(|(_, k)| String::from_utf8_lossy(k).into_owned())
            .collect()
    }

    fn value(&self, key: &str) -> Value {
        let rows = self.rows.lock().unwrap();
        serde_json::from_slice(&rows[&(NS_DAMAGED.to_owned(), key.as_bytes().to_vec())].value).unwrap()
    }

    fn tried(&self) -> Vec<String> {
        std::mem::take(&mut *self.tried.lock().unwrap())
    }
}

impl PassEnv for FakeEnv {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }

    fn scan(&self, ns: &str, after: &[u8], limit: usize) -> Result<(Vec<KvEntry>, bool), RepairError> {
        let rows = self.rows.lock().unwrap();
        let mut page: Vec<KvEntry> = rows
            .values()
            .filter(|e| e.ns == ns && e.key.as_slice() > after)
            .cloned()
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        Ok((page, more))
    }

    fn repair(
        &self,
        _queue: &'static str,
        entry: &KvEntry,
    ) -> impl Future<Output = Result<Outcome, RepairError>> + Send {
        let key = String::from_utf8_lossy(&entry.key).into_owned();
        self.tried.lock().unwrap().push(key.clone());
        let hangs = self.hangs.contains(&key);
        let outcome = if hangs || self.always_fails.contains(&key) {
            Err(RepairError::TargetDown(7))
        } else if self.unrebuildable.contains(&key) {
            let (id, _) = key.rsplit_once('.').unwrap();
            Ok(Outcome::Lost(LostObject {
                object_id: id.to_owned(),
                namespace: "ns".into(),
                key: key.clone(),
                revision: 1,
                shards: 6,
                reason: "only 2 of the 3 shards needed are sound".into(),
            }))
        } else {
            self.rows.lock().unwrap().remove(&(entry.ns.clone(), entry.key.clone()));
            Ok(Outcome::Repaired { node: 1 })
        };
        async move {
            if hangs {
                std::future::pending::<()>().await;
            }
            outcome
        }
    }

    fn retry_later(
        &self,
        queue: &'static str,
        entry: &KvEntry,
        value: Value,
    ) -> impl Future<Output = Result<(), RepairError>> + Send {
        let mut rows = self.rows.lock().unwrap();
        if let Some(row) = rows.get_mut(&(queue.to_owned(), entry.key.clone())) {
            if row.revision == entry.revision {
                row.value = value.to_string().into_bytes();
                row.revision = self.revision.fetch_add(1, Ordering::Relaxed) + 1;
            }
        }
        async { Ok(()) }
    }

    fn mark_lost(&self, lost: &LostObject) -> impl Future<Output = Result<(), RepairError>> + Send {
        if self.lost_record_fails {
            return futures::future::Either::Left(async { Err(RepairError::LostRecordStale) });
        }
        let mut rows = self.rows.lock().unwrap();
        for i in 0..lost.shards {
            let key = format!("{}.{i}", lost.object_id).into_bytes();
            rows.remove(&(NS_DAMAGED.to_owned(), key.clone()));
            rows.remove(&(NS_MOVES.to_owned(), key));
        }
        self.lost.lock().unwrap().insert(lost.object_id.clone(), lost.clone());
        futures::future::Either::Right(async { Ok(()) })
    }
}

const BACKOFF: Backoff = Backoff {
    base_ms: 1_000,
    cap_ms: 8_000,
};

async fn pass(queues: &mut RepairQueues, env: &FakeEnv) -> PassSummary {
    queues.pass(env, 1, |_, _, _, _| {}).await.unwrap()
}

#[tokio::test]
async fn an_entry_that_always_fails_holds_up_nothing_and_backs_off() {
    let env = FakeEnv {
        always_fails: ["aa.0".to_owned()].into(),
        ..Default::default()
    };
    for key in ["aa.0", "bb.0", "cc.0"] {
        env.damage(key);
    }
    env.now.store(10_000, Ordering::Relaxed);
    let mut queues = RepairQueues::new(BACKOFF, 1000);
    let s = pass(&mut queues, &env).await;
    assert_eq!((s.repaired, s.failed), (2, 1), "{s:?}");
    assert_eq!(
        env.queued(),
        vec!["aa.0"],
        "the later entries were repaired in the same pass"
    );
    let v = env.value("aa.0");
    assert_eq!(v["attempts"], 1);
    assert_eq!(v["next_try_ms"], 11_000);
    assert_eq!(v["last_error"], "move target node 7 is not up");
    assert_eq!(v["reason"], "test", "the detector's record is kept");

    // Backing off: not tried again before its time, then tried, and the wait doubles up to the cap.
    env.tried();
    env.damage("dd.0");
    let s = pass(&mut queues, &env).await;
    assert_eq!(env.tried(), vec!["dd.0"]);
    assert_eq!(s.waiting, 1);
    let mut now = 11_000;
    for (attempt, wait) in [(2, 2_000), (3, 4_000), (4, 8_000), (5, 8_000)] {
        env.now.store(now, Ordering::Relaxed);
        pass(&mut queues, &env).await;
        assert_eq!(env.tried(), vec!["aa.0"]);
        let v = env.value("aa.0");
        assert_eq!(v["attempts"], attempt);
        assert_eq!(v["next_try_ms"], now + wait);
        now += wait;
    }
}

#[tokio::test]
async fn a_clock_that_steps_back_does_not_park_an_entry() {
    let env = FakeEnv {
        always_fails: ["aa.0".to_owned()].into(),
        ..Default::default()
    };
    env.damage("aa.0");
    env.now.store(10_000_000, Ordering::Relaxed);
    let mut queues = RepairQueues::new(BACKOFF, 1000);
    pass(&mut queues, &env).await;
    assert_eq!(env.tried(), vec!["aa.0"]);
    // A leader whose clock is an hour behind: the stored next try is beyond any backoff.
    env.now.store(10_000_000 - 3_600_000, Ordering::Relaxed);
    pass(&mut queues, &env).await;
    assert_eq!(env.tried(), vec!["aa.0"]);
}

#[tokio::test]
async fn passes_resume_from_a_cursor_past_failing_entries() {
    let env = FakeEnv {
        always_fails: ["a1.0".to_owned(), "a2.0".to_owned()].into(),
        ..Default::default()
    };
    for key in ["a1.0", "a2.0", "b1.0", "b2.0", "b3.0"] {
        env.damage(key);
    }
    // Two entries per pass; the failing ones come first in key order.
    let mut queues = RepairQueues::new(BACKOFF, 2);
    pass(&mut queues, &env).await;
    assert_eq!(env.tried(), vec!["a1.0", "a2.0"]);
    pass(&mut queues, &env).await;
    assert_eq!(
        env.tried(),
        vec!["b1.0", "b2.0"],
        "the next pass starts after the cursor"
    );
    // Wraps around; the failing ones are backing off, so the rest is reached.
    pass(&mut queues, &env).await;
    assert_eq!(env.tried(), vec!["b3.0"]);
    assert_eq!(env.queued(), vec!["a1.0", "a2.0"]);
    // Due again once their backoff ends.
    env.now.store(BACKOFF.base_ms, Ordering::Relaxed);
    pass(&mut queues, &env).await;
    assert_eq!(env.tried(), vec!["a1.0", "a2.0"]);
}

#[tokio::test]
async fn an_object_that_cannot_be_rebuilt_leaves_the_queue_for_the_lost_list() {
    let env = FakeEnv {
        unrebuildable: ["aa.1".to_owned()].into(),
        ..Default::default()
    };
    for key in ["aa.1", "aa.2", "aa.3", "bb.0"] {
        env.damage(key);
    }
    let mut queues = RepairQueues::new(BACKOFF, 1000);
    let mut seen = Vec::new();
    let s = queues
        .pass(&env, 4, |key, outcome, _, _| {
            seen.push((key.to_owned(), matches!(outcome, Ok(Outcome::Lost(_)))))
        })
        .await
        .unwrap();
    assert_eq!((s.lost, s.repaired), (1, 1), "{s:?}");
    assert!(seen.contains(&("aa.1".to_owned(), true)), "{seen:?}");
    let lost = env.lost.lock().unwrap();
    assert_eq!(lost.keys().collect::<Vec<_>>(), vec!["aa"]);
    assert!(lost["aa"].reason.contains("sound"));
    assert!(env.queued().is_empty(), "every entry of the lost object left the queue");
}

#[test]
fn backoff_doubles_to_its_cap() {
    let b = Backoff {
        base_ms: 30_000,
        cap_ms: 3_600_000,
    };
    assert_eq!(b.delay_ms(1), 30_000);
    assert_eq!(b.delay_ms(2), 60_000);
    assert_eq!(b.delay_ms(8), 3_600_000);
    assert_eq!(b.delay_ms(u32::MAX), 3_600_000);
}

#[tokio::test]
async fn a_hung_repair_fails_at_its_deadline_and_the_pass_goes_on() {
    let env = FakeEnv {
        hangs: ["aa.0".to_owned()].into(),
        ..Default::default()
    };
    for key in ["aa.0", "bb.0"] {
        env.damage(key);
    }
    let mut queues = RepairQueues::new(BACKOFF, 1000);
    queues.job_deadline = std::time::Duration::from_millis(100);
    let s = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        queues.pass(&env, 2, |_, _, _, _| {}),
    )
    .await
    .expect("the pass waited on the hung repair")
    .unwrap();
    assert_eq!((s.repaired, s.failed), (1, 1), "{s:?}");
    let v = env.value("aa.0");
    assert_eq!(v["attempts"], 1);
    assert!(v["last_error"].as_str().unwrap().contains("did not finish"), "{v}");
}

#[tokio::test]
async fn a_lost_record_that_fails_leaves_the_entry_queued_to_be_judged_again() {
    let env = FakeEnv {
        unrebuildable: ["aa.1".to_owned()].into(),
        lost_record_fails: true,
        ..Default::default()
    };
    env.damage("aa.1");
    let mut queues = RepairQueues::new(BACKOFF, 1000);
    let s = pass(&mut queues, &env).await;
    assert_eq!((s.lost, s.failed), (0, 1), "{s:?}");
    assert!(env.lost.lock().unwrap().is_empty());
    assert_eq!(env.queued(), vec!["aa.1"]);
    let v = env.value("aa.1");
    assert_eq!(v["attempts"], 1);
    assert_eq!(
        v["last_error"],
        "recording ns/aa.1 as lost: the object changed meanwhile; it will be looked at again"
    );
}
