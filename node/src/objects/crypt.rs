//! Encryption at rest in the object store: which namespaces are encrypted, and sealing or opening
//! the bytes of their objects. The cryptography itself is in `crate::crypto`.
//!
//! Stripes are sealed before erasure coding and opened after decoding, so shard holders, the
//! scrubber and repair only ever handle ciphertext and verify it by hashing the stored bytes.

use crate::crypto::{DataKey, SealContext, INLINE_STRIPE};
use crate::node::Node;
use crate::shards::ObjectId;

use super::model::{Manifest, NamespaceConfig, Sealing};
use super::ObjectError;

/// Seals or opens the bytes of one object.
#[derive(Clone, Debug)]
pub(crate) struct ObjectSealer {
    key: DataKey,
    namespace: String,
    generation: u32,
    object_id: ObjectId,
}

impl ObjectSealer {
    fn cx(&self, stripe: u64) -> SealContext<'_> {
        SealContext {
            namespace: &self.namespace,
            generation: self.generation,
            object_id: &self.object_id,
            stripe,
        }
    }

    pub(crate) fn sealing(&self) -> Sealing {
        Sealing {
            key_generation: self.generation,
        }
    }

    pub(crate) fn seal_stripe(&self, stripe: u64, plain: &[u8]) -> Vec<u8> {
        self.key.seal(&self.cx(stripe), plain)
    }

    pub(crate) fn seal_inline(&self, plain: &[u8]) -> Vec<u8> {
        self.key.seal(&self.cx(INLINE_STRIPE), plain)
    }

    fn open(&self, m: &Manifest, stripe: u64, sealed: &[u8]) -> Result<Vec<u8>, ObjectError> {
        self.key
            .open(&self.cx(stripe), sealed)
            .map_err(|e| ObjectError::DataLoss {
                namespace: m.namespace.clone(),
                key: m.key.clone(),
                reason: e.to_string(),
            })
    }

    pub(crate) fn open_stripe(&self, m: &Manifest, stripe: u64, sealed: &[u8]) -> Result<Vec<u8>, ObjectError> {
        self.open(m, stripe, sealed)
    }

    pub(crate) fn open_inline(&self, m: &Manifest, sealed: &[u8]) -> Result<Vec<u8>, ObjectError> {
        self.open(m, INLINE_STRIPE, sealed)
    }
}

/// The error for a node asked to handle encrypted data without a master key.
fn no_master_key(node: &Node, namespace: &str) -> ObjectError {
    ObjectError::NoMasterKey {
        namespace: namespace.to_owned(),
        node: node.id(),
    }
}

impl Node {
    /// The sealer for a new object of `ns`; None when the namespace is not encrypted.
    pub(crate) fn object_sealer(
        &self,
        ns: &NamespaceConfig,
        object_id: &ObjectId,
    ) -> Result<Option<ObjectSealer>, ObjectError> {
        let Some(wrapped) = &ns.encryption else {
            return Ok(None);
        };
        let master = self.master_key.as_ref().ok_or_else(|| no_master_key(self, &ns.name))?;
        let key = master
            .unwrap_key(&ns.name, wrapped)
            .map_err(|e| ObjectError::Key(e.to_string()))?;
        Ok(Some(ObjectSealer {
            key,
            namespace: ns.name.clone(),
            generation: wrapped.generation,
            object_id: *object_id,
        }))
    }

    /// The sealer that opens the stored bytes of `m`; None when they are not sealed.
    pub(crate) fn manifest_sealer(&self, m: &Manifest) -> Result<Option<ObjectSealer>, ObjectError> {
        let Some(sealing) = m.sealed else {
            return Ok(None);
        };
        let ns = self.namespace(&m.namespace)?;
        match &ns.encryption {
            Some(w) if w.generation == sealing.key_generation => self.object_sealer(&ns, &m.object_id),
            _ => Err(ObjectError::DataLoss {
                namespace: m.namespace.clone(),
                key: m.key.clone(),
                reason: format!(
                    "the object is sealed with data key generation {}, which the namespace record no longer holds",
                    sealing.key_generation
                ),
            }),
        }
    }

    /// The wrapped data key for a namespace being created with `encrypt`.
    pub(crate) fn new_namespace_key(
        &self,
        namespace: &str,
        owner: &str,
    ) -> Result<crate::crypto::WrappedKey, ObjectError> {
        validate_owner(owner).map_err(ObjectError::Invalid)?;
        let master = self.master_key.as_ref().ok_or_else(|| no_master_key(self, namespace))?;
        Ok(master.new_data_key(namespace, owner).1)
    }
}

/// Owners (tenants) name a KEK: non-empty, printable, short.
fn validate_owner(owner: &str) -> Result<(), String> {
    if owner.is_empty() || owner.len() > 128 || owner.chars().any(char::is_control) {
        return Err(format!(
            "`{owner}` is not a key owner: give the tenant id (1-128 printable characters), e.g. --owner t1"
        ));
    }
    Ok(())
}
