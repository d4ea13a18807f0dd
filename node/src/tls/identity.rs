//! Who a certificate speaks for. The identity is one URI subject-alternative name:
//! `archipel://node/ID?site=SITE` for a node, `archipel://client/NAME?role=ROLE` for a client, and
//! `archipel://client/NAME?role=tenant&tenant=T` for a client confined to tenant T's namespaces
//! (see [`crate::tls::tenant`]).
//! A URI SAN (not the CN) because it is typed, unambiguous, and ignored by hostname checks.

use std::fmt;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

pub const URI_SCHEME: &str = "archipel://";

/// What a client certificate allows (the archive layer refines it per tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Operator,
    Archivist,
    TransferringAgency,
    ControlAuthority,
    /// Confined to one tenant's namespaces; the certificate names the tenant.
    Tenant,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Operator,
        Role::Archivist,
        Role::TransferringAgency,
        Role::ControlAuthority,
        Role::Tenant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Archivist => "archivist",
            Role::TransferringAgency => "transferring-agency",
            Role::ControlAuthority => "control-authority",
            Role::Tenant => "tenant",
        }
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("`{s}` is not a role; use one of {}", names.join(", "))
        })
    }
}

/// The subject of a certificate issued by the cluster CA.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Node {
        id: u64,
        site: String,
    },
    /// `tenant` is set exactly when `role` is [`Role::Tenant`].
    Client {
        name: String,
        role: Role,
        tenant: Option<String>,
    },
}

impl Subject {
    pub fn uri(&self) -> String {
        match self {
            Subject::Node { id, site } => format!("{URI_SCHEME}node/{id}?site={site}"),
            Subject::Client {
                name,
                role,
                tenant: Some(t),
            } => format!("{URI_SCHEME}client/{name}?role={}&tenant={t}", role.as_str()),
            Subject::Client { name, role, .. } => format!("{URI_SCHEME}client/{name}?role={}", role.as_str()),
        }
    }

    /// The tenant a client certificate is confined to, if any.
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Subject::Client { tenant, .. } => tenant.as_deref(),
            Subject::Node { .. } => None,
        }
    }

    pub fn parse_uri(uri: &str) -> Result<Subject, String> {
        let rest = uri
            .strip_prefix(URI_SCHEME)
            .ok_or_else(|| format!("`{uri}` is not an archipel:// identity"))?;
        let (path, query) = rest
            .split_once('?')
            .ok_or_else(|| format!("identity `{uri}` has no ?site= or ?role="))?;
        match (path.split_once('/'), query.split_once('=')) {
            (Some(("node", id)), Some(("site", site))) => {
                let id: u64 = id
                    .parse()
                    .map_err(|_| format!("identity `{uri}`: `{id}` is not a node id"))?;
                crate::config::validate_site_name(site)?;
                Ok(Subject::Node {
                    id,
                    site: site.to_owned(),
                })
            }
            (Some(("client", name)), Some(("role", role_and_tenant))) => {
                validate_client_name(name)?;
                let (role, tenant) = match role_and_tenant.split_once('&') {
                    Some((role, rest)) => {
                        let t = rest
                            .strip_prefix("tenant=")
                            .ok_or_else(|| format!("identity `{uri}`: only `tenant=` may follow the role"))?;
                        validate_tenant_name(t)?;
                        (Role::parse(role)?, Some(t.to_owned()))
                    }
                    None => (Role::parse(role_and_tenant)?, None),
                };
                // A tenant certificate without its tenant would be confined to nothing known.
                if (role == Role::Tenant) != tenant.is_some() {
                    return Err(format!(
                        "identity `{uri}`: role tenant and tenant= go together, neither without the other"
                    ));
                }
                Ok(Subject::Client {
                    name: name.to_owned(),
                    role,
                    tenant,
                })
            }
            _ => Err(format!("`{uri}` is neither a node nor a client identity")),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Node { id, site } => write!(f, "node {id} (site {site})"),
            Subject::Client {
                name, tenant: Some(t), ..
            } => write!(f, "client {name} (tenant {t})"),
            Subject::Client { name, role, .. } => write!(f, "client {name} (role {})", role.as_str()),
        }
    }
}

/// Client names end up in URIs, logs and file names: keep them plain.
pub fn validate_client_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a client name: use 1-64 ASCII letters, digits, '-', '_' or '.'"
        ))
    }
}

/// Tenant names follow the archive layer's tenant ids (lowercase, no '.', so `T.` prefixes never
/// overlap), and may not be `archive` or `sys`, whose `T.` prefix would cover shared namespaces.
pub fn validate_tenant_name(t: &str) -> Result<(), String> {
    let ok = !t.is_empty()
        && t.len() <= 64
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'))
        && !t.starts_with(['-', '_'])
        && !matches!(t, "archive" | "sys");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a tenant name: use 1-64 lowercase letters, digits, '-' or '_', not starting with '-' or '_', \
             and not `archive` or `sys`",
            t.escape_default()
        ))
    }
}

/// A verified peer's certificate, as the authorisation checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    pub subject: Subject,
    /// Lowercase hex without leading zeros: the form `cert revoke` takes.
    pub serial: String,
}

impl PeerIdentity {
    /// Reads the identity of a certificate (already verified against the CA by rustls).
    pub fn from_der(der: &[u8]) -> Result<PeerIdentity, String> {
        let (_, cert) = X509Certificate::from_der(der).map_err(|e| format!("unreadable certificate: {e}"))?;
        let serial = serial_hex(cert.raw_serial());
        let san = cert
            .subject_alternative_name()
            .map_err(|e| format!("certificate {serial}: bad subjectAltName: {e}"))?
            .ok_or_else(|| format!("certificate {serial} has no subjectAltName, so no Archipel identity"))?;
        let uris: Vec<&str> = san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::URI(u) if u.starts_with(URI_SCHEME) => Some(*u),
                _ => None,
            })
            .collect();
        match uris.as_slice() {
            [uri] => Ok(PeerIdentity {
                subject: Subject::parse_uri(uri)?,
                serial,
            }),
            [] => Err(format!("certificate {serial} carries no archipel:// identity")),
            _ => Err(format!("certificate {serial} carries several archipel:// identities")),
        }
    }
}

/// Serial numbers compare in one canonical form, whatever padding the encoder used.
pub fn serial_hex(raw: &[u8]) -> String {
    let trimmed: &[u8] = match raw.iter().position(|b| *b != 0) {
        Some(i) => &raw[i..],
        None => &[0],
    };
    hex::encode(trimmed)
}

/// Accepts `0a:1b`, `0A1B`, `0x0a1b`: operators paste serials from many tools.
pub fn normalize_serial(input: &str) -> Result<String, String> {
    let cleaned: String = input
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    let padded = if cleaned.len() % 2 == 1 {
        format!("0{cleaned}")
    } else {
        cleaned
    };
    let bytes = hex::decode(&padded).map_err(|_| format!("`{input}` is not a hexadecimal serial number"))?;
    if bytes.is_empty() || bytes.len() > 20 {
        return Err(format!("`{input}` is not a certificate serial (1-20 bytes)"));
    }
    Ok(serial_hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip() {
        for s in [
            Subject::Node {
                id: 7,
                site: "ville".into(),
            },
            Subject::Client {
                name: "alice".into(),
                role: Role::TransferringAgency,
                tenant: None,
            },
            Subject::Client {
                name: "bob".into(),
                role: Role::Tenant,
                tenant: Some("ville".into()),
            },
        ] {
            assert_eq!(Subject::parse_uri(&s.uri()).unwrap(), s);
        }
    }

    #[test]
    fn bad_uris_are_refused() {
        for bad in [
            "archipel://node/x?site=a",
            "archipel://node/1?site=Bad",
            "archipel://client/a b?role=operator",
            "archipel://client/a?role=root",
            "archipel://client/a?role=tenant",
            "archipel://client/a?role=archivist&tenant=ville",
            "archipel://client/a?role=tenant&tenant=Ville",
            "archipel://client/a?role=tenant&tenant=archive",
            "archipel://client/a?role=tenant&tenant=a.b",
            "archipel://client/a?role=tenant&site=x",
            "archipel://other/1?site=a",
            "https://node/1?site=a",
        ] {
            assert!(Subject::parse_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serials_normalise() {
        assert_eq!(normalize_serial("00:0A:1b").unwrap(), "0a1b");
        assert_eq!(normalize_serial("0xa1b").unwrap(), "0a1b");
        assert!(normalize_serial("zz").is_err());
        assert_eq!(serial_hex(&[0, 0, 5]), "05");
    }
}
