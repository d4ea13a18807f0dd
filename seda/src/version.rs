//! Which SEDA version a message is, read from its root element's namespace.
//!
//! Only the root start tag is read, so this is cheap enough to run before anything else and
//! gives the producer a precise answer when the version is not one Archipel accepts.

use std::fmt;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde::{Deserialize, Serialize};

/// Namespace prefix shared by every SEDA 2.x (and 1.0) version.
const SEDA_NS_PREFIX: &str = "fr:gouv:culture:archivesdefrance:seda:v";
/// SEDA 0.2 used a namespace of its own.
const SEDA_02_NS: &str = "fr:gouv:ae:archive:draft:standard_echange_v0.2";
/// Said in every refusal so the producer knows what to send instead.
const ACCEPTED: &str = "Archipel accepts 2.1, 2.2 and 2.3";

/// The SEDA versions Archipel accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SedaVersion {
    V2_1,
    V2_2,
    V2_3,
}

impl SedaVersion {
    pub const ALL: [SedaVersion; 3] = [SedaVersion::V2_1, SedaVersion::V2_2, SedaVersion::V2_3];

    /// "2.1", "2.2" or "2.3".
    pub fn as_str(self) -> &'static str {
        match self {
            SedaVersion::V2_1 => "2.1",
            SedaVersion::V2_2 => "2.2",
            SedaVersion::V2_3 => "2.3",
        }
    }

    /// The XML namespace of this version's messages.
    pub fn namespace(self) -> &'static str {
        match self {
            SedaVersion::V2_1 => "fr:gouv:culture:archivesdefrance:seda:v2.1",
            SedaVersion::V2_2 => "fr:gouv:culture:archivesdefrance:seda:v2.2",
            SedaVersion::V2_3 => "fr:gouv:culture:archivesdefrance:seda:v2.3",
        }
    }

    /// The version whose namespace is exactly `ns`.
    pub fn from_namespace(ns: &str) -> Option<SedaVersion> {
        SedaVersion::ALL.into_iter().find(|v| v.namespace() == ns)
    }

    /// Whether HoldRule (and its code list) exists in this version.
    pub fn has_hold_rule(self) -> bool {
        self >= SedaVersion::V2_2
    }
}

impl fmt::Display for SedaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a message's SEDA version could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error(
        "the manifest is not well-formed XML ({reason}) at byte {position}: send a well-formed SEDA ArchiveTransfer"
    )]
    NotXml { reason: String, position: u64 },
    #[error("the manifest has no root element: send a SEDA ArchiveTransfer message")]
    NoRoot,
    #[error("the root element is {found}, not ArchiveTransfer: Archipel ingests SEDA ArchiveTransfer messages only")]
    NotArchiveTransfer { found: String },
    #[error("the root element {element} has no namespace: declare xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.1\" (or v2.2, v2.3)")]
    NoNamespace { element: String },
    #[error("SEDA v{version} is not supported: {ACCEPTED}")]
    Unsupported { version: String },
    #[error("the root namespace \"{namespace}\" is not a SEDA namespace: {ACCEPTED}")]
    UnknownNamespace { namespace: String },
}

/// Reads the root element of `xml` and returns its SEDA version.
///
/// Only the prolog and the root start tag are read; the rest of the message is not checked here.
pub fn detect(xml: &[u8]) -> Result<SedaVersion, VersionError> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| VersionError::NotXml {
            reason: e.to_string(),
            position: reader.error_position(),
        })?;
        match event {
            Event::Start(start) | Event::Empty(start) => return root_version(&start),
            Event::Eof => return Err(VersionError::NoRoot),
            Event::Text(t) if !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(VersionError::NotXml {
                    reason: "text before the root element".into(),
                    position: reader.buffer_position(),
                })
            }
            _ => {}
        }
        buf.clear();
    }
}

fn root_version(start: &BytesStart<'_>) -> Result<SedaVersion, VersionError> {
    let qname = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (Some(p.to_owned()), l.to_owned()),
        None => (None, qname.clone()),
    };
    let wanted = match &prefix {
        Some(p) => format!("xmlns:{p}"),
        None => "xmlns".to_owned(),
    };
    let mut namespace = None;
    for attr in start.attributes().with_checks(false).flatten() {
        if attr.key.as_ref() == wanted.as_bytes() {
            namespace = Some(String::from_utf8_lossy(&attr.value).trim().to_owned());
        }
    }
    let Some(namespace) = namespace else {
        return Err(VersionError::NoNamespace { element: qname });
    };
    if let Some(version) = SedaVersion::from_namespace(&namespace) {
        if local != "ArchiveTransfer" {
            return Err(VersionError::NotArchiveTransfer {
                found: format!("{local} (SEDA {version})"),
            });
        }
        return Ok(version);
    }
    if namespace == SEDA_02_NS {
        return Err(VersionError::Unsupported { version: "0.2".into() });
    }
    if let Some(version) = namespace.strip_prefix(SEDA_NS_PREFIX) {
        return Err(VersionError::Unsupported {
            version: version.to_owned(),
        });
    }
    Err(VersionError::UnknownNamespace { namespace })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(ns: &str, name: &str) -> String {
        format!("<?xml version=\"1.0\"?>\n<{name} xmlns=\"{ns}\"><x/></{name}>")
    }

    #[test]
    fn accepts_the_three_versions() {
        for v in SedaVersion::ALL {
            assert_eq!(detect(root(v.namespace(), "ArchiveTransfer").as_bytes()), Ok(v));
            assert_eq!(v.namespace(), format!("{SEDA_NS_PREFIX}{v}"));
        }
    }

    #[test]
    fn prefixed_root() {
        let xml = "<s:ArchiveTransfer xmlns:s=\"fr:gouv:culture:archivesdefrance:seda:v2.2\"/>";
        assert_eq!(detect(xml.as_bytes()), Ok(SedaVersion::V2_2));
        // A default namespace that is not the root's own does not count.
        let xml = "<s:ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\" xmlns:s=\"urn:x\"/>";
        assert!(matches!(
            detect(xml.as_bytes()),
            Err(VersionError::UnknownNamespace { .. })
        ));
    }

    #[test]
    fn refuses_old_and_new_versions_by_name() {
        let e = detect(root("fr:gouv:culture:archivesdefrance:seda:v1.0", "ArchiveTransfer").as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "SEDA v1.0 is not supported: Archipel accepts 2.1, 2.2 and 2.3"
        );
        let e = detect(root(SEDA_02_NS, "ArchiveTransfer").as_bytes()).unwrap_err();
        assert!(e.to_string().starts_with("SEDA v0.2 is not supported"), "{e}");
        let e = detect(root("fr:gouv:culture:archivesdefrance:seda:v2.4", "ArchiveTransfer").as_bytes()).unwrap_err();
        assert!(e.to_string().starts_with("SEDA v2.4 is not supported"), "{e}");
    }

    #[test]
    fn names_the_wrong_root() {
        let e = detect(root(SedaVersion::V2_1.namespace(), "ArchiveTransferReply").as_bytes()).unwrap_err();
        assert!(e.to_string().contains("ArchiveTransferReply"), "{e}");
        let e = detect(b"<html><body/></html>").unwrap_err();
        assert!(matches!(e, VersionError::NoNamespace { .. }), "{e}");
    }

    #[test]
    fn not_xml() {
        assert!(matches!(detect(b""), Err(VersionError::NoRoot)));
        assert!(matches!(detect(b"PK\x03\x04 zip"), Err(VersionError::NotXml { .. })));
        assert!(matches!(detect(b"<!-- never closed"), Err(VersionError::NotXml { .. })));
    }
}
