//! A SIP's data objects as the objects of its units: SEDA's group semantics, a system id for
//! every object and group, and the DataObjectVersion checks.
//!
//! A DataObjectGroup holds the versions of one intellectual object, and SEDA says a grouped
//! object is referenced through its group. So, as Vitam does, a reference to a group — or to
//! any object of a group — attaches the whole group to the unit. Each object of the SIP gets
//! one system id, whatever the number of units referencing it, so two identical files are two
//! objects (they still share one stored copy: storage keys are content digests).

use std::collections::{HashMap, HashSet};

use archipel_seda::manifest::{ArchiveTransfer, ArchiveUnit, DataObject, ObjectVersion, VersionUsage};

use super::checks::{reason, Reasons};
use super::verify::VerifiedObject;
use crate::model::{ObjectRecord, PhysicalObjectRecord};

/// How a reason names an object, so the ATR event points at it.
pub(super) fn subject(o: &DataObject) -> String {
    match o {
        DataObject::Binary(b) => format!("BinaryDataObject {}", b.id),
        DataObject::Physical(p) => format!("PhysicalDataObject {}", p.id),
    }
}

/// Every DataObjectVersion is a SEDA usage fitting its object (PhysicalMaster for physical
/// objects only), and no group holds the same version twice.
pub(super) fn check_versions(m: &ArchiveTransfer) -> Reasons {
    let mut errors = Vec::new();
    let mut seen: HashMap<(&str, ObjectVersion), &str> = HashMap::new();
    for (o, group) in m.data_objects() {
        let Some(written) = version_of(o) else { continue };
        let v = match ObjectVersion::parse(written) {
            Ok(v) => v,
            Err(e) => {
                errors.push(reason("objects", Some(subject(o)), e));
                continue;
            }
        };
        let physical = matches!(o, DataObject::Physical(_));
        if physical != (v.usage == VersionUsage::PhysicalMaster) {
            let msg = if physical {
                format!("a PhysicalDataObject must be a PhysicalMaster, not `{written}`")
            } else {
                format!("a BinaryDataObject cannot be a PhysicalMaster (`{written}`): describe the original as a PhysicalDataObject")
            };
            errors.push(reason("objects", Some(subject(o)), msg));
        }
        if let Some(g) = group {
            if let Some(first) = seen.insert((g, v), o.id()) {
                errors.push(reason(
                    "objects",
                    Some(subject(o)),
                    format!("group {g} already has a {v} (object {first}): give each version of a group its own DataObjectVersion"),
                ));
            }
        }
    }
    errors
}

fn version_of(o: &DataObject) -> Option<&str> {
    match o {
        DataObject::Binary(b) => b.data_object_version.as_deref(),
        DataObject::Physical(p) => p.data_object_version.as_deref(),
    }
}

/// The SIP's objects and groups with their system ids.
pub(super) struct Objects<'m> {
    objects: HashMap<&'m str, (&'m DataObject, Option<&'m str>)>,
    /// Group id -> its objects, in document order.
    groups: HashMap<&'m str, Vec<&'m str>>,
    /// Object and group ids (one xsd:ID space in the SIP) -> Archipel's ids.
    system_ids: HashMap<&'m str, String>,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl<'m> Objects<'m> {
    pub fn new(m: &'m ArchiveTransfer) -> Self {
        let mut objects = HashMap::new();
        let mut groups: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut system_ids = HashMap::new();
        for (o, g) in m.data_objects() {
            objects.insert(o.id(), (o, g));
            system_ids.insert(o.id(), new_id());
            if let Some(g) = g {
                groups.entry(g).or_default().push(o.id());
                system_ids.entry(g).or_insert_with(new_id);
            }
        }
        Self {
            objects,
            groups,
            system_ids,
        }
    }

    /// The SIP ids of the objects `u` references, each once, in reference order.
    fn attached(&self, u: &ArchiveUnit) -> Vec<&'m str> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut add = |ids: &[&'m str]| {
            for id in ids {
                if seen.insert(*id) {
                    out.push(*id);
                }
            }
        };
        for r in &u.data_object_references {
            if let Some(id) = r.data_object_reference_id.as_deref() {
                match (self.groups.get(id), self.objects.get(id)) {
                    // SEDA 2.1 SIPs often reference a group by DataObjectReferenceId.
                    (Some(members), _) => add(members),
                    (None, Some((_, Some(g)))) => add(self.groups.get(g).map(Vec::as_slice).unwrap_or(&[])),
                    (None, Some((o, None))) => add(&[o.id()]),
                    (None, None) => {}
                }
            }
            if let Some(g) = r.data_object_group_reference_id.as_deref() {
                add(self.groups.get(g).map(Vec::as_slice).unwrap_or(&[]));
            }
        }
        out
    }

    /// The binary and physical objects of `u`. Binary objects not in `verified` (none, once
    /// the checks passed) are left out.
    pub fn for_unit(
        &self,
        u: &ArchiveUnit,
        verified: &HashMap<String, VerifiedObject>,
        aip_id: &str,
    ) -> (Vec<ObjectRecord>, Vec<PhysicalObjectRecord>) {
        let mut binaries = Vec::new();
        let mut physicals = Vec::new();
        for oid in self.attached(u) {
            let Some((o, group)) = self.objects.get(oid) else {
                continue;
            };
            let id = self.system_ids[oid].clone();
            let group_id = group.map(str::to_owned);
            let group_system_id = group.and_then(|g| self.system_ids.get(g)).cloned();
            match o {
                DataObject::Physical(p) => physicals.push(PhysicalObjectRecord {
                    id,
                    sip_id: p.id.clone(),
                    group_id,
                    group_system_id,
                    version: p.data_object_version.clone(),
                    physical_id: p.physical_id.clone(),
                    dimensions: p.dimensions.clone(),
                }),
                DataObject::Binary(b) => {
                    let Some(v) = verified.get(oid) else { continue };
                    binaries.push(ObjectRecord {
                        id,
                        sip_id: v.sip_id.clone(),
                        group_id,
                        version: b.data_object_version.clone(),
                        filename: b.file_info.as_ref().and_then(|fi| fi.filename.clone()),
                        size: v.size,
                        sha512: v.sha512.clone(),
                        blake3: Some(v.blake3.clone()),
                        declared_algorithm: b
                            .message_digest
                            .as_ref()
                            .and_then(|d| d.algorithm.clone())
                            .unwrap_or_default(),
                        declared_digest: b
                            .message_digest
                            .as_ref()
                            .map(|d| d.value.trim().to_owned())
                            .unwrap_or_default(),
                        puid: v.puid.clone(),
                        format_name: v.format_name.clone(),
                        mime: v.mime.clone(),
                        declared_puid: b.format.as_ref().and_then(|fi| fi.format_id.clone()),
                        key: crate::keys::aip_object(aip_id, &v.sha512),
                        pack_offset: None,
                        group_system_id,
                    });
                }
            }
        }
        (binaries, physicals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archipel_seda::manifest::{parse, ParseLimits};
    use std::path::PathBuf;

    const NS: &str = "fr:gouv:culture:archivesdefrance:seda:v2.2";

    fn manifest(objects: &str, refs: &str) -> ArchiveTransfer {
        let xml = format!(
            "<ArchiveTransfer xmlns=\"{NS}\"><Date>2026-01-01T00:00:00</Date><MessageIdentifier>M</MessageIdentifier>\
             <ArchivalAgreement>A</ArchivalAgreement><CodeListVersions/><DataObjectPackage>{objects}<DescriptiveMetadata>\
             <ArchiveUnit id=\"U1\"><Content><DescriptionLevel>Item</DescriptionLevel><Title>T</Title></Content>{refs}</ArchiveUnit>\
             </DescriptiveMetadata><ManagementMetadata/></DataObjectPackage><ArchivalAgency><Identifier>AA</Identifier></ArchivalAgency>\
             <TransferringAgency><Identifier>TA</Identifier></TransferringAgency></ArchiveTransfer>"
        );
        parse(xml.as_bytes(), &ParseLimits::default()).unwrap()
    }

    fn binary(id: &str, version: &str) -> String {
        format!(
            "<BinaryDataObject id=\"{id}\"><DataObjectVersion>{version}</DataObjectVersion><Uri>{id}.pdf</Uri>\
             <MessageDigest algorithm=\"SHA-512\">00</MessageDigest></BinaryDataObject>"
        )
    }

    fn verified(ids: &[&str], sha: &str) -> HashMap<String, VerifiedObject> {
        ids.iter()
            .map(|id| {
                let v = VerifiedObject {
                    sip_id: (*id).into(),
                    path: PathBuf::new(),
                    size: 3,
                    sha512: sha.into(),
                    blake3: "b3".into(),
                    puid: None,
                    format_name: None,
                    mime: None,
                };
                ((*id).to_owned(), v)
            })
            .collect()
    }

    #[test]
    fn a_reference_to_one_version_attaches_the_whole_group_with_its_physical_original() {
        let objects = format!(
            "<DataObjectGroup id=\"G1\">{}{}<PhysicalDataObject id=\"P1\"><DataObjectVersion>PhysicalMaster_1</DataObjectVersion>\
             <PhysicalId>BOITE-42</PhysicalId><PhysicalDimensions><Width unit=\"centimetre\">21</Width><NumberOfPage>3</NumberOfPage>\
             </PhysicalDimensions></PhysicalDataObject></DataObjectGroup>",
            binary("B1", "BinaryMaster_1"),
            binary("B2", "Dissemination_1")
        );
        let m = manifest(
            &objects,
            "<DataObjectReference><DataObjectReferenceId>B2</DataObjectReferenceId></DataObjectReference>",
        );
        assert!(check_versions(&m).is_empty());
        let o = Objects::new(&m);
        // Both files have the same content: two objects all the same.
        let (binaries, physicals) = o.for_unit(m.all_units()[0], &verified(&["B1", "B2"], "ab"), "aip");
        assert_eq!(
            binaries.iter().map(|b| b.sip_id.as_str()).collect::<Vec<_>>(),
            ["B1", "B2"]
        );
        assert_ne!(binaries[0].id, binaries[1].id, "identical files are two objects");
        assert_eq!(binaries[0].key, binaries[1].key, "stored once");
        let group = binaries[0].group_system_id.clone().unwrap();
        assert_eq!(binaries[1].group_system_id.as_deref(), Some(group.as_str()));
        assert_eq!(physicals.len(), 1);
        let p = &physicals[0];
        assert_eq!(p.physical_id.as_deref(), Some("BOITE-42"));
        assert_eq!(p.group_system_id.as_deref(), Some(group.as_str()));
        assert_eq!(p.dimensions[0].name, "Width");
        assert_eq!(p.dimensions[0].unit.as_deref(), Some("centimetre"));
        assert_eq!(p.dimensions[1].value, "3");
    }

    #[test]
    fn bad_or_repeated_versions_are_named() {
        let objects = format!(
            "<DataObjectGroup id=\"G1\">{}{}{}</DataObjectGroup><PhysicalDataObject id=\"P1\">\
             <DataObjectVersion>BinaryMaster_1</DataObjectVersion></PhysicalDataObject>",
            binary("B1", "BinaryMaster"),
            binary("B2", "BinaryMaster_1"),
            binary("B3", "Original_1")
        );
        let m = manifest(&objects, "");
        let errors = check_versions(&m);
        let text: Vec<String> = errors
            .iter()
            .map(|r| format!("{}: {}", r.subject.as_deref().unwrap_or(""), r.message))
            .collect();
        assert_eq!(errors.len(), 3, "{text:#?}");
        assert!(
            text[0].starts_with("BinaryDataObject B2") && text[0].contains("object B1"),
            "{text:#?}"
        );
        assert!(
            text[1].starts_with("BinaryDataObject B3") && text[1].contains("Original_1"),
            "{text:#?}"
        );
        assert!(
            text[2].starts_with("PhysicalDataObject P1") && text[2].contains("PhysicalMaster"),
            "{text:#?}"
        );
    }
}
