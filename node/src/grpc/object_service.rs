//! Objects and namespaces for clients; this node coordinates each call.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use archipel_proto::object::objects_server::Objects;
use archipel_proto::object::{
    get_object_chunk, put_object_chunk, CreateNamespaceRequest, DeleteObjectReply, DeleteObjectRequest,
    GetNamespaceRequest, GetObjectChunk, GetObjectLockRequest, GetObjectRequest, ListNamespacesReply,
    ListNamespacesRequest, ListObjectsReply, ListObjectsRequest, Namespace, NamespaceSpec, ObjectInfo,
    ObjectLock as PbLock, PutObjectChunk, SetObjectLockRequest, ShardLocation, StatObjectRequest,
};
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::idle::IdleLimit;
use super::object_lock::{actor, lock_to_pb, spec_from_pb};
use crate::kv::{DEFAULT_SCAN_LIMIT, MAX_SCAN_LIMIT};
use crate::node::Node;
use crate::objects::{LockChange, Manifest, NamespaceConfig, ObjectError, Override, ReadRange, Storage};
use crate::tls::tenant::{self, Confined};

pub struct ObjectService {
    pub node: Arc<Node>,
}

impl ObjectService {
    fn info(&self, m: &Manifest, revision: u64) -> ObjectInfo {
        let map = self.node.state.cluster_map();
        let fixity: std::collections::HashMap<u32, crate::objects::fixity::Evidence> = self
            .node
            .fixity(m)
            .into_iter()
            .filter_map(|(i, e)| e.map(|e| (i, e)))
            .collect();
        let (storage, stripe_size, shards) = match &m.storage {
            Storage::Inline(_) => ("inline".to_owned(), 0, vec![]),
            Storage::Sharded {
                profile,
                stripe_size,
                shards,
            } => (
                profile.to_string(),
                *stripe_size,
                shards
                    .iter()
                    .map(|s| {
                        let node = map.nodes.get(&s.node_id);
                        let evidence = fixity.get(&s.index);
                        ShardLocation {
                            verified_at_ms: evidence.map(|e| e.at_ms).unwrap_or(0),
                            verified_by: evidence.map(|e| e.node).unwrap_or(0),
                            verify_result: evidence.map(|e| e.result.clone()).unwrap_or_default(),
                            index: s.index,
                            node_id: s.node_id,
                            site: node.map(|n| n.site.clone()).unwrap_or_default(),
                            addr: node.map(|n| n.addr.clone()).unwrap_or_default(),
                            table_hash: s.table_hash.to_vec(),
                        }
                    })
                    .collect(),
            ),
        };
        ObjectInfo {
            namespace: m.namespace.clone(),
            key: m.key.clone(),
            size: m.size,
            blake3: m.blake3.to_vec(),
            storage,
            stripe_size,
            created_at_ms: m.created_at_ms,
            retain_until_ms: m.retain_until_ms,
            object_id: m.object_id.to_vec(),
            shards,
            revision,
            last_full_verification_ms: self.node.last_full_verification(m).unwrap_or(0),
            encrypted: m.sealed.is_some(),
            lock: match self.node.object_lock(m) {
                Ok(lock) => lock.as_ref().map(lock_to_pb),
                Err(e) => {
                    tracing::error!("{}/{}: {e}", m.namespace, m.key);
                    None
                }
            },
        }
    }

    fn namespace_pb(&self, ns: &NamespaceConfig) -> Namespace {
        Namespace {
            spec: Some(NamespaceSpec {
                name: ns.name.clone(),
                ec_profile: ns.profile.map(|p| p.to_string()).unwrap_or_default(),
                worm_retention_secs: ns.worm_retention_secs,
                encryption_owner: ns.encryption.as_ref().map(|w| w.owner.clone()).unwrap_or_default(),
            }),
            master_key_id: ns
                .encryption
                .as_ref()
                .map(|w| w.master_key_id.clone())
                .unwrap_or_default(),
            created_at_ms: ns.created_at_ms,
            effective_profile: self
                .node
                .effective_profile(ns)
                .map(|p| p.to_string())
                .unwrap_or_else(|e| format!("none ({e})")),
        }
    }
}

#[tonic::async_trait]
impl Objects for ObjectService {
    async fn create_namespace(&self, request: Request<CreateNamespaceRequest>) -> Result<Response<Namespace>, Status> {
        let confined = Confined::of(&request);
        let spec = request
            .into_inner()
            .spec
            .ok_or_else(|| Status::invalid_argument("missing namespace spec"))?;
        tenant::check(
            confined.as_ref(),
            "/archipel.object.v1.Objects/CreateNamespace",
            &spec.name,
        )?;
        let ns = self
            .node
            .create_namespace(
                &spec.name,
                Some(&spec.ec_profile),
                spec.worm_retention_secs,
                Some(spec.encryption_owner.as_str()).filter(|o| !o.is_empty()),
            )
            .await?;
        Ok(Response::new(self.namespace_pb(&ns)))
    }

    async fn get_namespace(&self, request: Request<GetNamespaceRequest>) -> Result<Response<Namespace>, Status> {
        let confined = Confined::of(&request);
        let name = request.into_inner().name;
        tenant::check(confined.as_ref(), "/archipel.object.v1.Objects/GetNamespace", &name)?;
        self.node.read_barrier().await.map_err(ObjectError::from)?;
        let ns = self.node.namespace(&name)?;
        Ok(Response::new(self.namespace_pb(&ns)))
    }

    async fn list_namespaces(
        &self,
        request: Request<ListNamespacesRequest>,
    ) -> Result<Response<ListNamespacesReply>, Status> {
        let confined = Confined::of(&request);
        let list = self.node.list_namespaces().await?;
        Ok(Response::new(ListNamespacesReply {
            namespaces: list
                .iter()
                .filter(|n| confined.as_ref().is_none_or(|c| c.owns(&n.name)))
                .map(|n| self.namespace_pb(n))
                .collect(),
        }))
    }

    async fn put_object(&self, request: Request<Streaming<PutObjectChunk>>) -> Result<Response<ObjectInfo>, Status> {
        let confined = Confined::of(&request);
        let writer = actor(&request, self.node.tls.is_some());
        let mut stream = request.into_inner();
        let idle = IdleLimit::client_stream(&self.node.config.network, "object upload");
        let header = match idle.next_message(&mut stream).await? {
            Some(PutObjectChunk {
                part: Some(put_object_chunk::Part::Header(h)),
            }) => h,
            _ => {
                return Err(Status::invalid_argument(
                    "an upload starts with its header (namespace, key)",
                ))
            }
        };
        tenant::check(
            confined.as_ref(),
            "/archipel.object.v1.Objects/PutObject",
            &header.namespace,
        )?;
        let lock_spec = spec_from_pb(header.lock.as_ref())?;
        // put_object reports a silent client like one that went away; the flag tells them apart.
        let (chunks, stalled) = idle.guard(stream);
        let data = chunks.map(|item| match item {
            Ok(PutObjectChunk {
                part: Some(put_object_chunk::Part::Data(d)),
            }) => Ok(d),
            Ok(_) => Err(ObjectError::Invalid("only data may follow the upload header".into())),
            // The client went away, broke the connection or went silent mid-upload.
            Err(_) => Err(ObjectError::Abandoned),
        });
        let outcome = match self
            .node
            .put_object(
                &header.namespace,
                &header.key,
                header.size,
                lock_spec,
                &writer,
                Box::pin(data),
            )
            .await
        {
            Ok(o) => o,
            Err(_) if stalled.load(Ordering::Relaxed) => return Err(idle.stalled()),
            Err(e) => return Err(e.into()),
        };
        Ok(Response::new(self.info(&outcome.manifest, outcome.revision)))
    }

    type GetObjectStream = ReceiverStream<Result<GetObjectChunk, Status>>;

    async fn get_object(&self, request: Request<GetObjectRequest>) -> Result<Response<Self::GetObjectStream>, Status> {
        let confined = Confined::of(&request);
        let r = request.into_inner();
        tenant::check(confined.as_ref(), "/archipel.object.v1.Objects/GetObject", &r.namespace)?;
        let (manifest, revision) = self.node.stat_object(&r.namespace, &r.key).await?;
        let range = ReadRange {
            offset: r.offset,
            length: r.length,
        };
        if range.offset > manifest.size {
            return Err(ObjectError::Invalid(format!(
                "offset {} is past the end of the object ({} bytes)",
                range.offset, manifest.size
            ))
            .into());
        }
        let info = self.info(&manifest, revision);
        let (tx, rx) = mpsc::channel::<Result<GetObjectChunk, Status>>(4);
        let node = self.node.clone();
        // A reader that takes nothing for this long is dropped, with the shard reads behind it.
        let idle = IdleLimit::client_stream(&self.node.config.network, "object download");
        tokio::spawn(async move {
            let first = GetObjectChunk {
                part: Some(get_object_chunk::Part::Info(info)),
            };
            if !idle.send(&tx, Ok(first)).await {
                return;
            }
            let (data_tx, mut data_rx) = mpsc::channel::<Result<Bytes, Status>>(2);
            let forward = {
                let tx = tx.clone();
                tokio::spawn(async move {
                    while let Some(item) = data_rx.recv().await {
                        let msg = item.map(|d| GetObjectChunk {
                            part: Some(get_object_chunk::Part::Data(d)),
                        });
                        if !idle.send(&tx, msg).await {
                            return;
                        }
                    }
                })
            };
            let result = node.read_object(&manifest, range, &data_tx).await;
            drop(data_tx);
            let _ = forward.await;
            if let Err(e) = result {
                tracing::error!("read of {}/{} failed: {e}", manifest.namespace, manifest.key);
                let _ = tx.send(Err(e.into())).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn stat_object(&self, request: Request<StatObjectRequest>) -> Result<Response<ObjectInfo>, Status> {
        let confined = Confined::of(&request);
        let r = request.into_inner();
        tenant::check(
            confined.as_ref(),
            "/archipel.object.v1.Objects/StatObject",
            &r.namespace,
        )?;
        let (m, revision) = self.node.stat_object(&r.namespace, &r.key).await?;
        Ok(Response::new(self.info(&m, revision)))
    }

    async fn list_objects(&self, request: Request<ListObjectsRequest>) -> Result<Response<ListObjectsReply>, Status> {
        let confined = Confined::of(&request);
        let r = request.into_inner();
        tenant::check(
            confined.as_ref(),
            "/archipel.object.v1.Objects/ListObjects",
            &r.namespace,
        )?;
        let limit = match r.limit as usize {
            0 => DEFAULT_SCAN_LIMIT,
            n => n.min(MAX_SCAN_LIMIT),
        };
        let (objects, more) = self
            .node
            .list_objects(&r.namespace, &r.prefix, &r.start_after, limit)
            .await?;
        Ok(Response::new(ListObjectsReply {
            objects: objects.iter().map(|(m, rev)| self.info(m, *rev)).collect(),
            more,
        }))
    }

    async fn delete_object(
        &self,
        request: Request<DeleteObjectRequest>,
    ) -> Result<Response<DeleteObjectReply>, Status> {
        let confined = Confined::of(&request);
        let caller = actor(&request, self.node.tls.is_some());
        let r = request.into_inner();
        tenant::check(
            confined.as_ref(),
            "/archipel.object.v1.Objects/DeleteObject",
            &r.namespace,
        )?;
        let bypass = r.bypass_governance.then(|| Override {
            actor: caller,
            reason: r.reason.clone(),
        });
        let existed = self.node.delete_object(&r.namespace, &r.key, bypass.as_ref()).await?;
        Ok(Response::new(DeleteObjectReply { existed }))
    }

    async fn get_object_lock(&self, request: Request<GetObjectLockRequest>) -> Result<Response<PbLock>, Status> {
        let confined = Confined::of(&request);
        let r = request.into_inner();
        tenant::check(
            confined.as_ref(),
            "/archipel.object.v1.Objects/GetObjectLock",
            &r.namespace,
        )?;
        let (m, _) = self.node.stat_object(&r.namespace, &r.key).await?;
        let lock = self.node.object_lock(&m)?;
        Ok(Response::new(lock.as_ref().map(lock_to_pb).unwrap_or_default()))
    }

    async fn set_object_lock(&self, request: Request<SetObjectLockRequest>) -> Result<Response<PbLock>, Status> {
        let confined = Confined::of(&request);
        let caller = actor(&request, self.node.tls.is_some());
        let r = request.into_inner();
        tenant::check(
            confined.as_ref(),
            "/archipel.object.v1.Objects/SetObjectLock",
            &r.namespace,
        )?;
        let spec = spec_from_pb(r.lock.as_ref())?;
        let lock = self
            .node
            .set_object_lock(
                &r.namespace,
                &r.key,
                spec,
                LockChange {
                    actor: &caller,
                    bypass_governance: r.bypass_governance,
                    reason: &r.reason,
                },
            )
            .await?;
        Ok(Response::new(lock_to_pb(&lock)))
    }
}
