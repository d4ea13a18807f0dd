//! The SEDA versions Archipel writes replies in.
//!
//! Local to `reply` for now; it will be unified with the crate-wide version type.

/// A SEDA 2.x version; each has its own XML namespace and XSD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SedaVersion {
    V2_1,
    V2_2,
    V2_3,
}

impl SedaVersion {
    /// The target namespace of this version's XSD.
    pub fn namespace(self) -> &'static str {
        match self {
            SedaVersion::V2_1 => "fr:gouv:culture:archivesdefrance:seda:v2.1",
            SedaVersion::V2_2 => "fr:gouv:culture:archivesdefrance:seda:v2.2",
            SedaVersion::V2_3 => "fr:gouv:culture:archivesdefrance:seda:v2.3",
        }
    }

    /// "2.1", "2.2" or "2.3".
    pub fn as_str(self) -> &'static str {
        match self {
            SedaVersion::V2_1 => "2.1",
            SedaVersion::V2_2 => "2.2",
            SedaVersion::V2_3 => "2.3",
        }
    }
}
