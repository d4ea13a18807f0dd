//! Reading a rules referential CSV (`RuleId,RuleType,RuleValue,RuleDescription,RuleDuration,
//! RuleMeasurement`, Vitam's columns). The `csv` crate reads RFC 4180: Vitam's exports quote
//! descriptions holding commas and line breaks, which a line-by-line split breaks. Every rejected
//! row is reported with its line, its column and what to write instead; nothing is imported
//! unless every row is sound.

use std::collections::HashMap;

use crate::error::{ArchiveError, Result};
use crate::model::{check_id, Measurement, NoDuration, Rule, RULE_TYPES};

const COLUMNS: [&str; 6] = [
    "RuleId",
    "RuleType",
    "RuleValue",
    "RuleDescription",
    "RuleDuration",
    "RuleMeasurement",
];

/// Problems listed at most, so a wrong file gives a readable answer.
const MAX_PROBLEMS: usize = 20;

/// Parses a rules CSV (comma or semicolon separated).
pub fn parse(text: &str) -> Result<Vec<Rule>> {
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first_line.is_empty() {
        return Err(ArchiveError::Invalid("the rules CSV is empty".into()));
    }
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ArchiveError::Invalid(format!("the rules CSV header cannot be read: {e}")))?
        .clone();
    let mut index = [0usize; 6];
    for (slot, name) in index.iter_mut().zip(COLUMNS) {
        *slot = header
            .iter()
            .position(|c| c.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ArchiveError::Invalid(format!(
                    "the rules CSV has no `{name}` column; its first line must name {}",
                    COLUMNS.join(", ")
                ))
            })?;
    }
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    let mut first_seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("line {line}: {e}; check the quotes on that line"));
                break;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() != header.len() {
            problems.push(format!(
                "line {line}: {} fields where the header has {}; check that fields holding the separator, quotes or line breaks are between double quotes",
                record.len(),
                header.len()
            ));
            continue;
        }
        let field = |i: usize| record.get(index[i]).map(str::trim).unwrap_or("");
        let mut bad = |column: usize, what: String| {
            problems.push(format!(
                "line {line}, column {} ({}): {what}",
                COLUMNS[column],
                index[column] + 1
            ));
        };
        let id = field(0);
        if let Err(e) = check_id("rule", id) {
            bad(0, e.to_string());
            continue;
        }
        if let Some(earlier) = first_seen.insert(id.to_owned(), line) {
            bad(
                0,
                format!("rule `{id}` was already given on line {earlier}; keep one line per rule"),
            );
            continue;
        }
        let rule_type = field(1);
        let Some(rule_type) = RULE_TYPES.iter().find(|t| t.eq_ignore_ascii_case(rule_type)) else {
            bad(
                1,
                format!(
                    "`{rule_type}` is not a rule type; write one of {}",
                    RULE_TYPES.join(", ")
                ),
            );
            continue;
        };
        let (duration, no_duration) = match field(4) {
            "" if *rule_type == "HoldRule" => (None, NoDuration::Undefined),
            "" => {
                bad(
                    4,
                    "the duration is empty; write a whole number or `unlimited` (only a HoldRule may leave it empty)"
                        .into(),
                );
                continue;
            }
            d if ["unlimited", "illimité", "illimite"]
                .iter()
                .any(|u| d.eq_ignore_ascii_case(u)) =>
            {
                (None, NoDuration::Unlimited)
            }
            d => match d.parse::<u32>() {
                Ok(n) => (Some(n), NoDuration::Unlimited),
                Err(_) => {
                    bad(4, format!("`{d}` is not a whole number; write one, or `unlimited`"));
                    continue;
                }
            },
        };
        let measurement = match (Measurement::parse(field(5)), field(5), duration) {
            (Some(m), _, _) => m,
            // Without a duration the unit is never used.
            (None, "", None) => Measurement::Year,
            (None, m, _) => {
                bad(5, format!("`{m}` is not a measurement; write YEAR, MONTH or DAY"));
                continue;
            }
        };
        if field(2).is_empty() {
            bad(2, "the rule's name is empty; give it one".into());
            continue;
        }
        rules.push(Rule {
            id: id.into(),
            rule_type: (*rule_type).into(),
            value: field(2).into(),
            description: field(3).into(),
            duration,
            measurement,
            no_duration,
            version: 1,
        });
    }
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(MAX_PROBLEMS);
        let mut text = problems.into_iter().take(MAX_PROBLEMS).collect::<Vec<_>>().join("\n");
        if more > 0 {
            text.push_str(&format!("\n... and {more} more"));
        }
        return Err(ArchiveError::Invalid(format!(
            "the rules CSV was not imported:\n{text}"
        )));
    }
    if rules.is_empty() {
        return Err(ArchiveError::Invalid("the rules CSV has a header but no rule".into()));
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like a Vitam export: quoted descriptions with commas, quotes and line breaks,
    /// measurements in several cases, an unlimited rule and a hold rule without duration.
    const VITAM_SHAPED: &str = "\u{feff}RuleId,RuleType,RuleValue,RuleDescription,RuleDuration,RuleMeasurement\n\
ACC-00002,AccessRule,\"Communicabilité : 25 ans\",\"Durée de communicabilité applicable aux documents\n\
dont la communication porte atteinte au secret des délibérations du Gouvernement,\n\
(art. L213-2, I, 1°, a) du Code du patrimoine) ; dit \"\"secret\"\"\",25,YEAR\n\
APP-00001,AppraisalRule,Dix ans,\"Durée, d'utilité administrative\",10,Year\n\
APP-00002,AppraisalRule,Six mois,,6,month\r\n\
STO-00001,StorageRule,Illimitée,,unlimited,YEAR\n\
HOL-00001,HoldRule,Gel judiciaire,\"Gel tant que la procédure\n\
est en cours\",,\n\
\n";

    #[test]
    fn reads_a_vitam_shaped_file() {
        let rules = parse(VITAM_SHAPED).unwrap();
        assert_eq!(rules.len(), 5, "{rules:#?}");
        let acc = &rules[0];
        assert!(
            acc.description.contains("Gouvernement,\n(art. L213-2, I, 1°, a)"),
            "{}",
            acc.description
        );
        assert!(acc.description.ends_with("dit \"secret\""), "{}", acc.description);
        assert_eq!((acc.duration, acc.measurement), (Some(25), Measurement::Year));
        assert_eq!(rules[1].measurement, Measurement::Year);
        assert_eq!((rules[2].duration, rules[2].measurement), (Some(6), Measurement::Month));
        assert_eq!((rules[3].duration, rules[3].no_duration), (None, NoDuration::Unlimited));
        assert_eq!((rules[4].duration, rules[4].no_duration), (None, NoDuration::Undefined));
        assert!(rules[4].description.contains("procédure\nest en cours"));
    }

    #[test]
    fn rejected_lines_name_line_column_and_fix() {
        let csv = "RuleId;RuleType;RuleValue;RuleDescription;RuleDuration;RuleMeasurement\n\
                   A;AccessRule;v;\"two\nlines\";1;DAY\n\
                   B;FooRule;v;;1;YEAR\n\
                   C;AccessRule;v;;;YEAR\n\
                   D;AccessRule;v;;ten;YEAR\n\
                   E;AccessRule;v;;10;DECADE\n\
                   A;AccessRule;v;;1;DAY\n";
        let e = parse(csv).unwrap_err().to_string();
        for expected in [
            "line 4, column RuleType (2): `FooRule`",
            "line 5, column RuleDuration (5): the duration is empty",
            "line 6, column RuleDuration (5): `ten` is not a whole number",
            "line 7, column RuleMeasurement (6): `DECADE`",
            "line 8, column RuleId (1): rule `A` was already given on line 2",
        ] {
            assert!(e.contains(expected), "missing {expected:?} in:\n{e}");
        }
        let e = parse("RuleId,RuleType\n").unwrap_err().to_string();
        assert!(e.contains("RuleValue"), "{e}");
        let e = parse(
            "RuleId,RuleType,RuleValue,RuleDescription,RuleDuration,RuleMeasurement\nX,AccessRule,v,\"open,1,YEAR\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 2: 4 fields where the header has 6"), "{e}");
    }

    #[test]
    fn end_dates_follow_the_calendar() {
        let rules = parse(VITAM_SHAPED).unwrap();
        let start = chrono::NaiveDate::from_ymd_opt(2020, 2, 29).unwrap();
        assert_eq!(rules[1].end_date(start), chrono::NaiveDate::from_ymd_opt(2030, 2, 28));
        assert_eq!(rules[2].end_date(start), chrono::NaiveDate::from_ymd_opt(2020, 8, 29));
        assert_eq!(rules[3].end_date(start), None);
    }
}
