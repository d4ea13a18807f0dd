//! The cluster CA and the certificates it issues (rcgen, ECDSA P-256).
//!
//! Layout of a PKI directory (`archipel cert init --dir D`):
//! - `D/ca.pem`, `D/ca.key`: the CA; the key never leaves this directory.
//! - `D/nodes/ID/{ca.pem,node.pem,node.key}`: what node ID needs (its `[tls]` section).
//! - `D/clients/NAME/{ca.pem,client.pem,client.key}`: usable as `ARCHIPEL_TLS_DIR` as it is.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use super::files::{create_private_dir, read_text, write_private};
use super::identity::{serial_hex, validate_client_name, validate_tenant_name, Role, Subject};
use super::PkiError;

pub const CA_CERT: &str = "ca.pem";
pub const CA_KEY: &str = "ca.key";
pub const NODE_CERT: &str = "node.pem";
pub const NODE_KEY: &str = "node.key";
pub const CLIENT_CERT: &str = "client.pem";
pub const CLIENT_KEY: &str = "client.key";

/// Ten years: replacing a CA means re-issuing every certificate, so it should be rare.
pub const CA_DAYS: u32 = 3650;
/// One year: short enough that a forgotten certificate dies, long enough for yearly rotation.
pub const LEAF_DAYS: u32 = 365;

/// When a certificate is valid.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From an hour ago (clock skew between sites) to `days` from now.
    pub fn days(days: u32) -> Validity {
        let now = OffsetDateTime::now_utc();
        Validity {
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(days.into()),
        }
    }

    /// `days` long, starting `offset_days` from today (negative: in the past). For certificates
    /// prepared ahead of a rotation, and for testing expiry.
    pub fn starting(offset_days: i64, days: u32) -> Validity {
        let start = OffsetDateTime::now_utc() + Duration::days(offset_days);
        Validity {
            not_before: start,
            not_after: start + Duration::days(days.into()),
        }
    }
}

/// A certificate and its private key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub serial: String,
    pub subject: Subject,
    pub not_after: OffsetDateTime,
}

pub struct Ca {
    cert: Certificate,
    key: KeyPair,
}

impl Ca {
    /// A new self-signed cluster CA.
    pub fn generate(name: &str, validity: Validity) -> Result<Ca, PkiError> {
        let key = KeyPair::generate().map_err(PkiError::crypto)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(name, None);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(random_serial());
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let cert = params.self_signed(&key).map_err(PkiError::crypto)?;
        Ok(Ca { cert, key })
    }

    /// Loads `dir/ca.pem` and `dir/ca.key`.
    pub fn load(dir: &Path) -> Result<Ca, PkiError> {
        let cert_pem = read_text(
            &dir.join(CA_CERT),
            "the CA certificate (run `archipel cert init` first)",
        )?;
        let key_pem = read_text(&dir.join(CA_KEY), "the CA private key")?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| PkiError::Bad {
            path: dir.join(CA_KEY),
            reason: e.to_string(),
        })?;
        let params = CertificateParams::from_ca_cert_pem(&cert_pem).map_err(|e| PkiError::Bad {
            path: dir.join(CA_CERT),
            reason: e.to_string(),
        })?;
        // Re-signing the parsed parameters gives the issuer name and key id to sign with; the
        // CA certificate on disk stays the one that peers trust.
        let cert = params.self_signed(&key).map_err(|_| PkiError::Bad {
            path: dir.join(CA_KEY),
            reason: "this key does not match ca.pem".into(),
        })?;
        if cert.params().is_ca == IsCa::NoCa || key.public_key_raw() != ca_public_key(&cert_pem)? {
            return Err(PkiError::Bad {
                path: dir.join(CA_KEY),
                reason: "this key does not belong to the CA certificate ca.pem".into(),
            });
        }
        Ok(Ca { cert, key })
    }

    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// Writes `ca.pem` and `ca.key` into `dir`; refuses to replace an existing CA.
    pub fn save(&self, dir: &Path) -> Result<Vec<PathBuf>, PkiError> {
        create_private_dir(dir)?;
        let key_path = dir.join(CA_KEY);
        if key_path.exists() {
            return Err(PkiError::Exists { path: key_path });
        }
        let cert_path = dir.join(CA_CERT);
        write_private(&key_path, self.key.serialize_pem().as_bytes())?;
        write_private(&cert_path, self.cert.pem().as_bytes())?;
        Ok(vec![cert_path, key_path])
    }

    /// A node certificate: usable as server and client, with `addrs` (host or host:port) as SANs.
    pub fn issue_node(&self, id: u64, site: &str, addrs: &[String], validity: Validity) -> Result<Issued, PkiError> {
        if id == 0 {
            return Err(PkiError::Invalid("node id must be 1 or more".into()));
        }
        crate::config::validate_site_name(site).map_err(PkiError::Invalid)?;
        if addrs.is_empty() {
            return Err(PkiError::Invalid(format!(
                "node {id} needs at least one --addr (the host:port other nodes and clients dial)"
            )));
        }
        let subject = Subject::Node {
            id,
            site: site.to_owned(),
        };
        let mut sans = Vec::new();
        for a in addrs {
            sans.push(host_san(a)?);
        }
        self.issue(
            subject,
            dn(&format!("archipel node {id}"), Some(site)),
            sans,
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth],
            validity,
        )
    }

    /// A client certificate: client authentication only, so it can never pose as a node's server.
    pub fn issue_client(&self, name: &str, role: Role, validity: Validity) -> Result<Issued, PkiError> {
        if role == Role::Tenant {
            return Err(PkiError::Invalid(
                "a tenant certificate names its tenant: use --role tenant --tenant T".into(),
            ));
        }
        self.issue_client_for(name, role, None, validity)
    }

    /// A client certificate confined to `tenant`'s namespaces (see `crate::tls::tenant`).
    pub fn issue_tenant_client(&self, name: &str, tenant: &str, validity: Validity) -> Result<Issued, PkiError> {
        validate_tenant_name(tenant).map_err(PkiError::Invalid)?;
        self.issue_client_for(name, Role::Tenant, Some(tenant.to_owned()), validity)
    }

    fn issue_client_for(
        &self,
        name: &str,
        role: Role,
        tenant: Option<String>,
        validity: Validity,
    ) -> Result<Issued, PkiError> {
        validate_client_name(name).map_err(PkiError::Invalid)?;
        let subject = Subject::Client {
            name: name.to_owned(),
            role,
            tenant,
        };
        self.issue(
            subject,
            dn(name, Some(role.as_str())),
            Vec::new(),
            vec![ExtendedKeyUsagePurpose::ClientAuth],
            validity,
        )
    }

    fn issue(
        &self,
        subject: Subject,
        name: DistinguishedName,
        mut sans: Vec<SanType>,
        eku: Vec<ExtendedKeyUsagePurpose>,
        validity: Validity,
    ) -> Result<Issued, PkiError> {
        if validity.not_after <= validity.not_before {
            return Err(PkiError::Invalid("the validity period is empty".into()));
        }
        let key = KeyPair::generate().map_err(PkiError::crypto)?;
        let serial = random_serial();
        let uri = subject.uri().try_into().map_err(PkiError::crypto)?;
        sans.push(SanType::URI(uri));
        let mut params = CertificateParams::default();
        params.distinguished_name = name;
        params.subject_alt_names = sans;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = eku;
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(serial.clone());
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .map_err(PkiError::crypto)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            serial: serial_hex(serial.as_ref()),
            subject,
            not_after: validity.not_after,
        })
    }
}

/// Writes a ready-to-use bundle (`ca.pem`, certificate, key) into `dir`, replacing any older one.
pub fn write_bundle(dir: &Path, ca_pem: &str, issued: &Issued) -> Result<Vec<PathBuf>, PkiError> {
    let (cert_name, key_name) = match issued.subject {
        Subject::Node { .. } => (NODE_CERT, NODE_KEY),
        Subject::Client { .. } => (CLIENT_CERT, CLIENT_KEY),
    };
    create_private_dir(dir)?;
    let paths = [dir.join(CA_CERT), dir.join(cert_name), dir.join(key_name)];
    // Key before certificate: a reader never finds a new certificate beside an old key for long.
    write_private(&paths[2], issued.key_pem.as_bytes())?;
    write_private(&paths[1], issued.cert_pem.as_bytes())?;
    write_private(&paths[0], ca_pem.as_bytes())?;
    Ok(paths.to_vec())
}

/// Where `cert issue` puts a subject's bundle inside a PKI directory.
pub fn bundle_dir(pki_dir: &Path, subject: &Subject) -> PathBuf {
    match subject {
        Subject::Node { id, .. } => pki_dir.join("nodes").join(id.to_string()),
        Subject::Client { name, .. } => pki_dir.join("clients").join(name),
    }
}

fn dn(common_name: &str, unit: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Archipel");
    if let Some(unit) = unit {
        dn.push(DnType::OrganizationalUnitName, unit);
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

/// 16 random bytes, positive and without a leading zero, so the hex form is canonical.
fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// `host`, `host:port` or `[v6]:port` → an IP or DNS SAN.
fn host_san(addr: &str) -> Result<SanType, PkiError> {
    let host = split_host(addr);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'));
    if !valid {
        return Err(PkiError::Invalid(format!(
            "`{addr}` is not a host name, IP address or host:port"
        )));
    }
    Ok(SanType::DnsName(
        host.to_ascii_lowercase().try_into().map_err(PkiError::crypto)?,
    ))
}

/// The host part of an address, as hostname verification sees it.
pub fn split_host(addr: &str) -> &str {
    let addr = addr.trim();
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
        _ => addr,
    }
}

fn ca_public_key(cert_pem: &str) -> Result<Vec<u8>, PkiError> {
    use x509_parser::pem::parse_x509_pem;
    let bad = |reason: String| PkiError::Bad {
        path: PathBuf::from(CA_CERT),
        reason,
    };
    let (_, pem) = parse_x509_pem(cert_pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
    let cert = pem.parse_x509().map_err(|e| bad(e.to_string()))?;
    Ok(cert.public_key().subject_public_key.data.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::identity::PeerIdentity;

    #[test]
    fn issued_certificates_carry_their_identity() {
        let ca = Ca::generate("test CA", Validity::days(1)).unwrap();
        let node = ca
            .issue_node(
                4,
                "ville",
                &["127.0.0.1:7404".into(), "n4.example".into()],
                Validity::days(1),
            )
            .unwrap();
        let der = rustls_pki_types::pem::PemObject::from_pem_slice(node.cert_pem.as_bytes()).unwrap();
        let der: rustls_pki_types::CertificateDer = der;
        let id = PeerIdentity::from_der(&der).unwrap();
        assert_eq!(
            id.subject,
            Subject::Node {
                id: 4,
                site: "ville".into()
            }
        );
        assert_eq!(id.serial, node.serial);
        let client = ca.issue_client("alice", Role::Archivist, Validity::days(1)).unwrap();
        assert_ne!(client.serial, node.serial);
        let tenant = ca.issue_tenant_client("bob", "ville", Validity::days(1)).unwrap();
        let der = rustls_pki_types::pem::PemObject::from_pem_slice(tenant.cert_pem.as_bytes()).unwrap();
        let der: rustls_pki_types::CertificateDer = der;
        assert_eq!(PeerIdentity::from_der(&der).unwrap().subject.tenant(), Some("ville"));
        assert!(ca.issue_client("carol", Role::Tenant, Validity::days(1)).is_err());
        assert!(ca.issue_tenant_client("carol", "sys", Validity::days(1)).is_err());
    }

    #[test]
    fn save_refuses_to_replace_a_ca_and_load_checks_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::generate("test CA", Validity::days(1)).unwrap();
        ca.save(dir.path()).unwrap();
        assert!(matches!(ca.save(dir.path()), Err(PkiError::Exists { .. })));
        let loaded = Ca::load(dir.path()).unwrap();
        assert_eq!(
            ca_public_key(&loaded.cert_pem()).unwrap(),
            ca_public_key(&ca.cert_pem()).unwrap(),
            "the loaded CA signs with the saved key"
        );
        let other = Ca::generate("other", Validity::days(1)).unwrap();
        std::fs::write(dir.path().join(CA_KEY), other.key.serialize_pem()).unwrap();
        assert!(Ca::load(dir.path()).is_err());
    }

    #[test]
    fn bad_requests_are_refused() {
        let ca = Ca::generate("test CA", Validity::days(1)).unwrap();
        assert!(ca.issue_node(1, "ville", &[], Validity::days(1)).is_err());
        assert!(ca.issue_node(1, "Ville", &["h:1".into()], Validity::days(1)).is_err());
        assert!(ca
            .issue_node(1, "ville", &["bad host".into()], Validity::days(1))
            .is_err());
        assert!(ca.issue_client("a/b", Role::Operator, Validity::days(1)).is_err());
        assert_eq!(split_host("[::1]:7400"), "::1");
        assert_eq!(split_host("node-1:7400"), "node-1");
        assert_eq!(split_host("::1"), "::1");
    }
}
