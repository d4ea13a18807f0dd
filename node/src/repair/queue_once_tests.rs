//! A draining or lost node's shards are queued for repair once, however many passes the drain
//! takes (each pass used to re-propose a damage record for every shard still there).

use std::sync::Mutex;

use super::{queue_shards_of, Queued};
use crate::ec_profile::EcProfile;
use crate::objects::model::{manifest_ns, Manifest, Storage};
use crate::objects::test_sm::Sm;
use crate::objects::{damage_command, ShardRef};
use crate::raft::Command;

fn on_nodes(n: u8, nodes: [u64; 3]) -> Manifest {
    Manifest {
        namespace: "acts".into(),
        key: format!("k{n}"),
        object_id: [n; 16],
        size: 10,
        blake3: [0; 32],
        created_at_ms: 1,
        retain_until_ms: 0,
        storage: Storage::Sharded {
            profile: EcProfile::new(2, 1).unwrap(),
            stripe_size: 1 << 20,
            shards: nodes
                .iter()
                .enumerate()
                .map(|(i, node_id)| ShardRef {
                    index: i as u32,
                    node_id: *node_id,
                    table_hash: [0; 32],
                })
                .collect(),
        },
        sealed: None,
    }
}

#[tokio::test]
async fn each_shard_of_a_draining_node_is_queued_once() {
    let mut sm = Sm::new();
    let manifests: Vec<Manifest> = (1..=3).map(|n| on_nodes(n, [5, 6, 7])).collect();
    for m in &manifests {
        let put = Command::Put {
            ns: manifest_ns(&m.namespace),
            key: m.key.as_bytes().to_vec(),
            value: m.encode(),
        };
        sm.apply(1, put).await;
    }
    // The scrubber had found one of them corrupt already.
    sm.apply(1, damage_command(&manifests[0], 0, Some(5), None, "corrupt", 5, 1))
        .await;
    let view = sm.sm.view();

    for (pass, expected_new) in [(1, 2), (2, 0), (3, 0)] {
        let proposed = Mutex::new(Vec::new());
        let queued = queue_shards_of(&view, 5, "node 5 is draining", 1, 2, |batch| {
            proposed.lock().unwrap().extend(batch);
            async { Ok(()) }
        })
        .await
        .unwrap();
        assert_eq!(
            queued,
            Queued {
                still_placed: 3,
                newly_queued: expected_new
            },
            "pass {pass}"
        );
        let proposed = proposed.into_inner().unwrap();
        assert_eq!(proposed.len(), expected_new, "pass {pass}");
        for cmd in proposed {
            sm.apply(2, cmd).await;
        }
    }
}
