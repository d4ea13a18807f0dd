//! `DescriptionLevel` against SEDA's code list (LevelType, the same in 2.1, 2.2 and 2.3). The
//! level drives search facets and how an archivist reads the tree: a misspelt one is refused
//! rather than stored as an unknown level. The element itself is optional in SEDA.

use archipel_seda::manifest::ArchiveTransfer;

use super::checks::{reason, Reasons};

/// LevelType's values, as the XSDs list them.
pub const LEVELS: [&str; 11] = [
    "Fonds",
    "Subfonds",
    "Class",
    "Collection",
    "Series",
    "Subseries",
    "RecordGrp",
    "SubGrp",
    "File",
    "Item",
    "OtherLevel",
];

pub(super) fn check_levels(m: &ArchiveTransfer) -> Reasons {
    m.all_units()
        .into_iter()
        .filter_map(|u| {
            let level = u.content.as_ref()?.description_level.as_deref()?;
            if LEVELS.contains(&level.trim()) {
                return None;
            }
            let near = LEVELS.iter().find(|l| l.eq_ignore_ascii_case(level.trim()));
            let hint = match near {
                Some(l) => format!("write `{l}`"),
                None => format!("use one of {}", LEVELS.join(", ")),
            };
            Some(reason(
                "structure",
                Some(format!("ArchiveUnit {}", u.id)),
                format!(
                    "unit {} has DescriptionLevel `{level}`, which is not in SEDA's list: {hint}",
                    u.id
                ),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use archipel_seda::manifest::{parse, ParseLimits};

    #[test]
    fn a_level_outside_the_list_names_its_unit() {
        let unit = |id: &str, level: &str| {
            format!("<ArchiveUnit id=\"{id}\"><Content><DescriptionLevel>{level}</DescriptionLevel><Title>T</Title></Content></ArchiveUnit>")
        };
        let xml = format!(
            "<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\"><Date>2026-01-01T00:00:00</Date>\
             <MessageIdentifier>M</MessageIdentifier><ArchivalAgreement>A</ArchivalAgreement><CodeListVersions/>\
             <DataObjectPackage><DescriptiveMetadata>{}{}{}</DescriptiveMetadata><ManagementMetadata/></DataObjectPackage>\
             <ArchivalAgency><Identifier>AA</Identifier></ArchivalAgency><TransferringAgency><Identifier>TA</Identifier>\
             </TransferringAgency></ArchiveTransfer>",
            unit("U1", "File"),
            unit("U2", "Dossier"),
            unit("U3", "item")
        );
        let m = parse(xml.as_bytes(), &ParseLimits::default()).unwrap();
        let r = check_levels(&m);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[0].subject.as_deref(), Some("ArchiveUnit U2"));
        assert!(r[0].message.contains("Dossier"), "{r:?}");
        assert_eq!(r[1].subject.as_deref(), Some("ArchiveUnit U3"));
        assert!(r[1].message.contains("write `Item`"), "{r:?}");
    }
}
