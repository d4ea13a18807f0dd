//! Object locks on the wire: who the caller is for a lock decision, and the proto conversions.

use archipel_proto::object::{LockMode as PbMode, ObjectLock as PbLock, ObjectLockSpec};
use tonic::Status;

use crate::objects::{LockActor, LockMode, LockSpec, ObjectLock};
use crate::tls::identity::{PeerIdentity, Role, Subject};

/// The caller as a lock decision sees it. Privileged: nodes, and operator or control-authority
/// certificates not confined to a tenant. A node without TLS has no identities and admits all.
pub fn actor<T>(request: &tonic::Request<T>, tls: bool) -> LockActor {
    match request.extensions().get::<PeerIdentity>() {
        Some(peer) => LockActor {
            subject: peer.subject.to_string(),
            privileged: match &peer.subject {
                Subject::Node { .. } => true,
                Subject::Client { role, tenant, .. } => {
                    tenant.is_none() && matches!(role, Role::Operator | Role::ControlAuthority)
                }
            },
        },
        None => LockActor {
            subject: "a plaintext client".into(),
            privileged: !tls,
        },
    }
}

pub fn spec_from_pb(spec: Option<&ObjectLockSpec>) -> Result<LockSpec, Status> {
    let Some(spec) = spec else {
        return Ok(LockSpec::default());
    };
    let mode = match PbMode::try_from(spec.mode) {
        Ok(PbMode::None) => None,
        Ok(PbMode::Governance) => Some(LockMode::Governance),
        Ok(PbMode::Compliance) => Some(LockMode::Compliance),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "unknown lock mode {}: use NONE, GOVERNANCE or COMPLIANCE",
                spec.mode
            )))
        }
    };
    Ok(LockSpec {
        mode,
        retain_until_ms: spec.retain_until_ms,
        legal_hold: spec.legal_hold,
    })
}

pub fn lock_to_pb(lock: &ObjectLock) -> PbLock {
    PbLock {
        mode: match lock.mode {
            None => PbMode::None,
            Some(LockMode::Governance) => PbMode::Governance,
            Some(LockMode::Compliance) => PbMode::Compliance,
        } as i32,
        retain_until_ms: lock.retain_until_ms,
        legal_hold: lock.legal_hold,
        changed_at_ms: lock.changed_at_ms,
        changed_by: lock.changed_by.clone(),
        reason: lock.reason.clone(),
    }
}
