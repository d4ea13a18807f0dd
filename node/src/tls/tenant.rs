//! Tenant confinement: what a tenant certificate (`role=tenant&tenant=T`) may touch.
//!
//! The rule, for object namespaces and metadata namespaces alike: tenant T owns exactly the
//! namespace `archive.T` (where the archive layer keeps T's AIPs) and every namespace starting
//! with `T.`. Nothing else: not the archive layer's shared metadata namespace `archive`, not
//! `sys.*`, not another tenant's. Tenant names hold no '.' and cannot be `archive` or `sys`
//! ([`super::identity::validate_tenant_name`]), so no two tenants own the same namespace.
//!
//! The check runs in the object and meta services, where the decoded request names its
//! namespaces, before anything is read or written, so a refusal says nothing about whether the
//! object exists. List-style RPCs return only what the tenant owns. Certificates without a
//! tenant (operators, nodes, the archive front's own) and plaintext nodes are not confined.

use tonic::Status;

use super::identity::PeerIdentity;

/// The tenant a request is confined to, and who asked (for the refusal log).
#[derive(Debug, Clone)]
pub struct Confined {
    pub tenant: String,
    pub subject: String,
}

impl Confined {
    /// Taken from the verified certificate the authz middleware put in the request.
    pub fn of<T>(request: &tonic::Request<T>) -> Option<Confined> {
        let peer = request.extensions().get::<PeerIdentity>()?;
        let tenant = peer.subject.tenant()?;
        Some(Confined {
            tenant: tenant.to_owned(),
            subject: peer.subject.to_string(),
        })
    }

    pub fn owns(&self, namespace: &str) -> bool {
        owns(&self.tenant, namespace)
    }
}

pub fn owns(tenant: &str, namespace: &str) -> bool {
    namespace.strip_prefix("archive.").is_some_and(|rest| rest == tenant)
        || namespace.strip_prefix(tenant).is_some_and(|rest| rest.starts_with('.'))
}

/// Refuses (PermissionDenied, logged) a confined caller using a namespace it does not own.
pub fn check(confined: Option<&Confined>, rpc: &str, namespace: &str) -> Result<(), Status> {
    let Some(c) = confined else {
        return Ok(());
    };
    if c.owns(namespace) {
        return Ok(());
    }
    let t = &c.tenant;
    let msg = format!(
        "{} may not use namespace `{}`: a certificate of tenant {t} reaches only `archive.{t}` and `{t}.*`",
        c.subject,
        namespace.escape_default()
    );
    tracing::warn!(rpc, peer = %c.subject, namespace = %namespace.escape_default(), "request refused: {msg}");
    Err(Status::permission_denied(msg))
}

#[cfg(test)]
mod tests {
    use super::owns;

    #[test]
    fn a_tenant_owns_its_namespaces_only() {
        for ns in ["archive.ville", "ville.scratch", "ville.a.b"] {
            assert!(owns("ville", ns), "{ns}");
        }
        for ns in [
            "archive",
            "archive.region",
            "archive.ville.x",
            "archive.villeneuve",
            "villeneuve.x",
            "ville",
            "ville/x",
            "sys.objects",
            "sys.ville",
            "region.ville",
        ] {
            assert!(!owns("ville", ns), "{ns}");
        }
    }
}
