//! ACLs and policies. Buckets here behave as S3 buckets whose Object Ownership is
//! `BucketOwnerEnforced` (AWS's default for new buckets since 2023): ACLs are disabled, the
//! owner tenant has full control of everything in them, and access is granted per access key
//! (read-write or read-only). Reading an ACL answers exactly that; setting any ACL other than
//! `private` or `bucket-owner-full-control` (which say the same) is refused with
//! `AccessControlListNotSupported`, as AWS refuses it on such buckets. Bucket policies are not
//! kept: reading one answers `NoSuchBucketPolicy`, setting one is refused with a reason.

use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};

use crate::buckets::owner;
use crate::gateway::Gateway;
use crate::keys::Identity;

const CANNED_OK: [&str; 2] = ["private", "bucket-owner-full-control"];

fn not_supported() -> S3Error {
    s3_error!(
        AccessControlListNotSupported,
        "The bucket does not allow ACLs: its Object Ownership is BucketOwnerEnforced. Access is granted per tenant and access key (archipel s3 key create [--read-only]); see docs/s3.md."
    )
}

/// Refuses a canned ACL or grant headers other than what every object here already has.
pub(crate) fn check_requested(canned: Option<&str>, grants: &[Option<&String>]) -> S3Result<()> {
    if canned.is_some_and(|c| !CANNED_OK.contains(&c)) || grants.iter().any(Option::is_some) {
        return Err(not_supported());
    }
    Ok(())
}

/// A bucket can only be created with the ownership it will have: `BucketOwnerEnforced`.
pub(crate) fn check_ownership(wanted: Option<&ObjectOwnership>) -> S3Result<()> {
    match wanted {
        Some(o) if o.as_str() != ObjectOwnership::BUCKET_OWNER_ENFORCED => Err(s3_error!(
            InvalidArgument,
            "Object Ownership {} needs ACLs, which this gateway does not keep: create the bucket with BucketOwnerEnforced (the default).",
            o.as_str()
        )),
        _ => Ok(()),
    }
}

/// A full-control grant to the owner tenant, and nothing else: the only ACL there is.
fn owner_grants(tenant: &str) -> Grants {
    vec![Grant {
        grantee: Some(Grantee {
            display_name: Some(tenant.into()),
            email_address: None,
            id: Some(tenant.into()),
            type_: Type::from_static(Type::CANONICAL_USER),
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    }]
}

/// Whether an AccessControlPolicy document grants exactly the owner's full control.
fn is_owner_only(policy: &AccessControlPolicy, tenant: &str) -> bool {
    let grants = policy.grants.as_deref().unwrap_or_default();
    grants.iter().all(|g| {
        g.permission
            .as_ref()
            .is_some_and(|p| p.as_str() == Permission::FULL_CONTROL)
            && g.grantee
                .as_ref()
                .is_some_and(|e| e.type_.as_str() == Type::CANONICAL_USER && e.id.as_deref() == Some(tenant))
    })
}

impl Gateway {
    pub(crate) async fn op_get_bucket_acl(&self, id: &Identity, bucket: &str) -> S3Result<GetBucketAclOutput> {
        self.bucket(id, bucket).await?;
        Ok(GetBucketAclOutput {
            grants: Some(owner_grants(&id.tenant)),
            owner: Some(owner(&id.tenant)),
        })
    }

    pub(crate) async fn op_get_object_acl(
        &self,
        id: &Identity,
        input: &GetObjectAclInput,
    ) -> S3Result<GetObjectAclOutput> {
        let bucket = self.bucket(id, &input.bucket).await?;
        self.object(&bucket, &input.key).await?;
        Ok(GetObjectAclOutput {
            grants: Some(owner_grants(&id.tenant)),
            owner: Some(owner(&id.tenant)),
            ..Default::default()
        })
    }

    /// Setting the ACL there already is succeeds (tools do it after each upload); any other is
    /// refused.
    pub(crate) async fn op_put_acl(
        &self,
        id: &Identity,
        bucket: &str,
        key: Option<&str>,
        canned: Option<&str>,
        policy: Option<&AccessControlPolicy>,
        grants: &[Option<&String>],
    ) -> S3Result<()> {
        let b = self.bucket(id, bucket).await?;
        if let Some(k) = key {
            self.object(&b, k).await?;
        }
        check_requested(canned, grants)?;
        if policy.is_some_and(|p| !is_owner_only(p, &id.tenant)) {
            return Err(not_supported());
        }
        Ok(())
    }

    pub(crate) async fn op_get_bucket_ownership_controls(
        &self,
        id: &Identity,
        bucket: &str,
    ) -> S3Result<GetBucketOwnershipControlsOutput> {
        self.bucket(id, bucket).await?;
        Ok(GetBucketOwnershipControlsOutput {
            ownership_controls: Some(OwnershipControls {
                rules: vec![OwnershipControlsRule {
                    object_ownership: ObjectOwnership::from_static(ObjectOwnership::BUCKET_OWNER_ENFORCED),
                }],
            }),
        })
    }

    pub(crate) async fn op_get_bucket_policy(&self, id: &Identity, bucket: &str) -> S3Result<GetBucketPolicyOutput> {
        self.bucket(id, bucket).await?;
        Err(S3Error::with_message(
            S3ErrorCode::NoSuchBucketPolicy,
            "The bucket policy does not exist: access is granted per tenant and access key.",
        ))
    }

    pub(crate) async fn op_put_bucket_policy(&self, id: &Identity, bucket: &str) -> S3Result<()> {
        self.bucket(id, bucket).await?;
        Err(s3_error!(
            NotImplemented,
            "Bucket policies are not supported: access is granted per tenant and access key (archipel s3 key create [--read-only]); see docs/s3.md."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_acl_every_object_has_is_accepted() {
        assert!(check_requested(None, &[None, None]).is_ok());
        assert!(check_requested(Some("private"), &[]).is_ok());
        assert!(check_requested(Some("bucket-owner-full-control"), &[]).is_ok());
        let e = check_requested(Some("public-read"), &[]).unwrap_err();
        assert_eq!(e.code(), &S3ErrorCode::AccessControlListNotSupported);
        let grant = "id=someone".to_owned();
        assert!(check_requested(None, &[Some(&grant)]).is_err());
    }

    #[test]
    fn a_policy_document_granting_only_the_owner_is_accepted() {
        let mine = AccessControlPolicy {
            grants: Some(owner_grants("region")),
            owner: Some(owner("region")),
        };
        assert!(is_owner_only(&mine, "region"));
        assert!(!is_owner_only(&mine, "ville"));
        let mut public = mine.clone();
        public.grants.as_mut().unwrap().push(Grant {
            grantee: Some(Grantee {
                display_name: None,
                email_address: None,
                id: None,
                type_: Type::from_static(Type::GROUP),
                uri: Some("http://acs.amazonaws.com/groups/global/AllUsers".into()),
            }),
            permission: Some(Permission::from_static(Permission::READ)),
        });
        assert!(!is_owner_only(&public, "region"));
    }
}
