//! Object namespaces: created once, with an optional EC profile and WORM retention.

use crate::ec_profile::EcProfile;
use crate::node::Node;
use crate::placement::{check_profile, default_profile, PlacementNode};
use crate::raft::{Command, CommandResult, Expect};

use super::model::{validate_namespace_name, NamespaceConfig, NS_NAMESPACES};
use super::ObjectError;

/// Longest WORM retention accepted: archives keep some records forever, but a typo of
/// 10 000 years should not lock storage.
const MAX_RETENTION_SECS: u64 = 200 * 365 * 24 * 3600;

impl Node {
    /// The nodes placement may use now, from the cluster map.
    pub fn placement_nodes(&self) -> Vec<PlacementNode> {
        self.state
            .cluster_map()
            .nodes
            .values()
            .filter(|n| n.state != crate::cluster_map::NodeState::Gone)
            .map(|n| PlacementNode {
                id: n.id,
                site: n.site.clone(),
                capacity_bytes: n.capacity_bytes,
                writable: n.state == crate::cluster_map::NodeState::Up,
            })
            .collect()
    }

    pub fn effective_profile(&self, ns: &NamespaceConfig) -> Result<EcProfile, ObjectError> {
        match ns.profile {
            Some(p) => Ok(p),
            None => default_profile(&self.placement_nodes())
                .map(|c| c.profile)
                .map_err(|e| ObjectError::Unavailable(e.to_string())),
        }
    }

    /// `encrypt_for`: encrypt the namespace's objects at rest under a new data key wrapped for
    /// this owner (tenant); needs the master key on this node.
    pub async fn create_namespace(
        &self,
        name: &str,
        profile: Option<&str>,
        worm_retention_secs: u64,
        encrypt_for: Option<&str>,
    ) -> Result<NamespaceConfig, ObjectError> {
        validate_namespace_name(name).map_err(ObjectError::Invalid)?;
        let profile = match profile.filter(|p| !p.is_empty()) {
            Some(p) => {
                let p: EcProfile = p.parse().map_err(ObjectError::Invalid)?;
                check_profile(p, &self.placement_nodes())
                    .map_err(|why| ObjectError::Invalid(format!("profile {p} does not fit this cluster: {why}")))?;
                Some(p)
            }
            None => None,
        };
        if worm_retention_secs > MAX_RETENTION_SECS {
            return Err(ObjectError::Invalid("WORM retention is limited to 200 years".into()));
        }
        let encryption = match encrypt_for {
            Some(owner) => Some(self.new_namespace_key(name, owner)?),
            None => None,
        };
        let config = NamespaceConfig {
            name: name.to_owned(),
            profile,
            worm_retention_secs,
            created_at_ms: self.clock.now_ms(),
            encryption,
        };
        let value = serde_json::to_vec(&config).map_err(|e| ObjectError::Internal(e.to_string()))?;
        let result = self
            .propose(Command::Cas {
                ns: NS_NAMESPACES.into(),
                key: name.as_bytes().to_vec(),
                expect: Expect::Absent,
                new_value: Some(value),
            })
            .await?;
        match result {
            CommandResult::Cas { succeeded: true, .. } => Ok(config),
            CommandResult::Cas {
                current: Some(existing),
                ..
            } => {
                let existing: NamespaceConfig =
                    serde_json::from_slice(&existing.value).map_err(|e| ObjectError::Internal(e.to_string()))?;
                // Creating the same namespace twice is harmless.
                let owner = |c: &NamespaceConfig| c.encryption.as_ref().map(|w| w.owner.clone());
                if existing.profile == config.profile
                    && existing.worm_retention_secs == config.worm_retention_secs
                    && owner(&existing) == owner(&config)
                {
                    Ok(existing)
                } else {
                    Err(ObjectError::NamespaceExists(name.into()))
                }
            }
            other => Err(ObjectError::Internal(format!("unexpected result {other:?}"))),
        }
    }

    /// Reads a namespace's settings (from this node's applied state; call `read_barrier` first
    /// when the caller needs the latest).
    pub fn namespace(&self, name: &str) -> Result<NamespaceConfig, ObjectError> {
        let entry = self
            .state
            .get(NS_NAMESPACES, name.as_bytes())
            .map_err(|e| ObjectError::Internal(e.to_string()))?
            .ok_or_else(|| ObjectError::NoNamespace(name.into()))?;
        serde_json::from_slice(&entry.value).map_err(|e| ObjectError::Internal(format!("namespace {name}: {e}")))
    }

    pub async fn list_namespaces(&self) -> Result<Vec<NamespaceConfig>, ObjectError> {
        self.read_barrier().await?;
        let (entries, _) = self
            .state
            .scan(NS_NAMESPACES, b"", b"", crate::kv::MAX_SCAN_LIMIT)
            .map_err(|e| ObjectError::Internal(e.to_string()))?;
        entries
            .iter()
            .map(|e| serde_json::from_slice(&e.value).map_err(|e| ObjectError::Internal(e.to_string())))
            .collect()
    }
}
