//! The communication delays of public archives set by the Code du patrimoine, article L213-2
//! (as amended by the law of 15 July 2008), for people reading a unit's communicability.
//!
//! Archipel does not guess a delay from a document: the delay is the AccessRule the unit
//! carries, computed from the tenant's rules referential (`rules`). This table only names the
//! legal basis a rule's duration corresponds to, so the unit view can say *why* a record is
//! closed ("50 ans : protection de la vie privée, L213-2 I 3°"). The referential's own
//! description is shown beside it and wins when they differ.

use serde::Serialize;

/// One delay of L213-2 I (or the L213-1 rule of immediate communication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LegalDelay {
    /// Years from the date of the most recent document of the file (unless `counted_from` says
    /// otherwise).
    pub years: u32,
    /// The paragraph of the code.
    pub article: &'static str,
    /// What starts the delay.
    pub counted_from: &'static str,
    /// The categories of documents the law names, in French as archivists read them.
    pub categories: &'static str,
}

/// The delays of L213-2 I, shortest first. Several paragraphs share a duration; each gets its
/// own line.
pub const LEGAL_DELAYS: &[LegalDelay] = &[
    LegalDelay {
        years: 0,
        article: "L213-1",
        counted_from: "immédiatement",
        categories: "documents communicables de plein droit (principe de libre communicabilité des archives publiques)",
    },
    LegalDelay {
        years: 25,
        article: "L213-2 I 1° a",
        counted_from: "date du document le plus récent du dossier",
        categories: "secret des délibérations du Gouvernement et des autorités exécutives, conduite des relations \
                     extérieures, monnaie et crédit public, secret des affaires, recherche des infractions fiscales \
                     et douanières, documents administratifs non communicables au titre de L311-5 et L311-6 (dont \
                     les délibérations portant sur des intérêts privés)",
    },
    LegalDelay {
        years: 25,
        article: "L213-2 I 2°",
        counted_from: "date du décès de l'intéressé",
        categories: "documents couverts par le secret médical (à défaut de date de décès connue : 120 ans à compter \
                     de la naissance)",
    },
    LegalDelay {
        years: 50,
        article: "L213-2 I 3°",
        counted_from: "date du document le plus récent du dossier",
        categories: "secret de la défense nationale, intérêts fondamentaux de l'État dans la conduite de la \
                     politique extérieure, sûreté de l'État, sécurité publique, protection de la vie privée, \
                     documents portant appréciation ou jugement de valeur sur une personne physique",
    },
    LegalDelay {
        years: 75,
        article: "L213-2 I 4°",
        counted_from: "date du document le plus récent du dossier (ou 25 ans après le décès si ce délai est plus bref)",
        categories: "enquêtes statistiques des services publics (données individuelles), enquêtes de police \
                     judiciaire, affaires portées devant les juridictions, minutes et répertoires des notaires, \
                     registres de naissances et de mariages de l'état civil",
    },
    LegalDelay {
        years: 100,
        article: "L213-2 I 5°",
        counted_from: "date du document le plus récent du dossier (ou 25 ans après le décès si ce délai est plus bref)",
        categories: "documents des catégories du 4° concernant des mineurs, ou relatifs à la vie sexuelle des \
                     personnes dans les enquêtes de police judiciaire et les affaires judiciaires",
    },
    LegalDelay {
        years: 120,
        article: "L213-2 I 2°",
        counted_from: "date de naissance de l'intéressé, quand la date de décès n'est pas connue",
        categories: "documents couverts par le secret médical",
    },
];

/// The legal delays a duration in years matches (empty for a duration the law does not set,
/// which a local referential may still use).
pub fn delays_of(years: u32) -> Vec<&'static LegalDelay> {
    LEGAL_DELAYS.iter().filter(|d| d.years == years).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_names_the_durations_of_the_law() {
        assert!(LEGAL_DELAYS.windows(2).all(|w| w[0].years <= w[1].years));
        for years in [0, 25, 50, 75, 100, 120] {
            assert!(!delays_of(years).is_empty(), "{years} years is in L213-2");
        }
        assert!(delays_of(30).is_empty());
        assert_eq!(delays_of(50)[0].article, "L213-2 I 3°");
    }
}
