//! A search request, its checks, and its translation into a tantivy query.

use std::ops::Bound;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tantivy::query::{AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Index, Term};

use super::facets::Facets;
use super::rules::RuleFilter;
use super::schema::{day_number, Fields};
use super::SearchError;

/// A page of more than this is a bulk export, which is not what search is for.
pub const MAX_LIMIT: usize = 1000;
/// Top-k collection keeps `offset + limit` hits in memory; past this, refine the query instead.
pub const MAX_OFFSET: usize = 10_000;
/// Long enough for any query a person types; short enough to bound parsing work.
pub const MAX_QUERY_BYTES: usize = 2048;
/// The query grammar recurses on parentheses: bound it so hostile input cannot exhaust the stack.
const MAX_QUERY_NESTING: usize = 16;
const DEFAULT_LIMIT: usize = 20;
/// A title hit says more about a unit than a hit deep in its flattened metadata.
const TITLE_BOOST: f32 = 3.0;
const KEYWORDS_BOOST: f32 = 2.0;
const DESCRIPTION_BOOST: f32 = 1.5;

/// What a user asks of one tenant's index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    /// Query text over title, description, keywords and other metadata (tantivy syntax: words are ANDed, `"…"` for
    /// phrases, `-word` to exclude, `title:word` for one field). `None` or blank matches every unit.
    pub q: Option<String>,
    /// Only units that came through this flow (exact).
    pub flow: Option<String>,
    /// Only units whose covered days overlap `[from, to]` (inclusive, either end open). Undated units never match a
    /// date filter.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only units of this SEDA description level (exact, e.g. `File`).
    pub level: Option<String>,
    /// Only units of this originating agency (exact identifier, e.g. `FRAD069`).
    pub originating_agency: Option<String>,
    /// Only units carrying this rule id (own or inherited, any category).
    pub rule_id: Option<String>,
    /// Only units carrying at least one rule of this category, final action and end-date range, all on the
    /// same rule.
    pub rules: RuleFilter,
    /// Only units under a HoldRule in force on a day (`held`), or only units under none (`!held`).
    pub hold: Option<HoldFilter>,
    /// Only units freely communicable on a day (`communicable`), or only units that are not.
    #[serde(default)]
    pub communicable: Option<CommunicableFilter>,
    /// Only units of these originating agencies (an access contract's); `None`: any.
    #[serde(default)]
    pub originating_agencies: Option<Vec<String>>,
    /// Count the matching units per level, flow, originating agency and year.
    pub facets: bool,
    pub limit: usize,
    pub offset: usize,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            q: None,
            flow: None,
            from: None,
            to: None,
            level: None,
            originating_agency: None,
            rule_id: None,
            rules: RuleFilter::default(),
            hold: None,
            communicable: None,
            originating_agencies: None,
            facets: true,
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

impl SearchQuery {
    pub fn text(q: impl Into<String>) -> Self {
        SearchQuery {
            q: Some(q.into()),
            ..SearchQuery::default()
        }
    }

    /// The query text if there is any worth parsing.
    pub(crate) fn q_text(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
    }

    /// Checks the bounds before any work is done.
    pub(crate) fn check(&self) -> Result<(), SearchError> {
        if self.limit > MAX_LIMIT {
            return Err(SearchError::LimitTooLarge {
                limit: self.limit,
                max: MAX_LIMIT,
            });
        }
        if self.offset > MAX_OFFSET {
            return Err(SearchError::OffsetTooLarge {
                offset: self.offset,
                max: MAX_OFFSET,
            });
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(SearchError::EmptyDateRange { from, to });
            }
        }
        self.rules.check()?;
        if let Some(q) = &self.q {
            if q.len() > MAX_QUERY_BYTES {
                return Err(SearchError::QueryTooLong {
                    len: q.len(),
                    max: MAX_QUERY_BYTES,
                });
            }
            let depth = paren_depth(q);
            if depth > MAX_QUERY_NESTING {
                return Err(SearchError::QueryTooDeep {
                    depth,
                    max: MAX_QUERY_NESTING,
                });
            }
        }
        Ok(())
    }
}

/// Units under a HoldRule in force on `on` (a hold with no end date, or ending on or after that day), or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldFilter {
    pub held: bool,
    pub on: NaiveDate,
}

/// Units freely communicable on `on` (`communicable`), or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunicableFilter {
    pub communicable: bool,
    pub on: NaiveDate,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchPage {
    /// How many units match in all, not just on this page.
    pub total: usize,
    pub hits: Vec<Hit>,
    /// Counts over every matching unit (not just this page), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facets: Option<Facets>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub unit_id: String,
    pub title: String,
    pub flow: Option<String>,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub originating_agency: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub score: f32,
    /// A plain-text excerpt of the description or metadata around the matched words, when there is one.
    pub snippet: Option<String>,
}

/// Deepest parenthesis nesting outside quoted phrases.
fn paren_depth(q: &str) -> usize {
    let (mut depth, mut max, mut quoted, mut escaped) = (0usize, 0usize, false, false);
    for c in q.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => {
                depth += 1;
                max = max.max(depth);
            }
            ')' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

pub(crate) fn query_parser(index: &Index, f: &Fields) -> QueryParser {
    let mut parser = QueryParser::for_index(index, f.default_text());
    // Archivists narrow down: every word they add should restrict, not widen.
    parser.set_conjunction_by_default();
    parser.set_field_boost(f.title, TITLE_BOOST);
    parser.set_field_boost(f.keywords, KEYWORDS_BOOST);
    parser.set_field_boost(f.description, DESCRIPTION_BOOST);
    parser
}

/// Parses the user's text strictly: a typo must be reported, not silently turned into "match nothing".
pub(crate) fn parse_text(parser: &QueryParser, q: &str) -> Result<Box<dyn Query>, SearchError> {
    parser.parse_query(q).map_err(|err| {
        // The strict parser does not say where it failed; the lenient grammar does.
        let (_, errors) = tantivy::query_grammar::parse_query_lenient(q);
        let position = match errors.first() {
            Some(first) => format!(" at byte {} ({})", first.pos, first.message),
            None => String::new(),
        };
        let reason = match err {
            tantivy::query::QueryParserError::SyntaxError(_) => "the syntax is invalid".to_string(),
            tantivy::query::QueryParserError::FieldDoesNotExist(field) => format!(
                "there is no field `{field}` (searchable: title, description, keywords, text, flow, level, \
                 originating_agency, unit_id, sip_unit_id, parent_id, transfer_id, aip_id, rule_category, rule_id)"
            ),
            tantivy::query::QueryParserError::AllButQueryForbidden => {
                "it only excludes words; add at least one word to search for".to_string()
            }
            other => other.to_string(),
        };
        SearchError::MalformedQuery {
            query: q.to_string(),
            position,
            reason,
        }
    })
}

/// A request translated for tantivy.
pub(crate) struct Built {
    /// The user's text, scored, and the filters, which must match but do not change the ranking.
    pub query: Box<dyn Query>,
    /// The user's text alone, to find the words to show in snippets.
    pub text: Option<Box<dyn Query>>,
}

pub(crate) fn build(parser: &QueryParser, f: &Fields, req: &SearchQuery) -> Result<Built, SearchError> {
    let text = req.q_text().map(|q| parse_text(parser, q)).transpose()?;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut filter = |q: Box<dyn Query>| clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0))));
    if let Some(flow) = &req.flow {
        filter(Box::new(TermQuery::new(
            Term::from_field_text(f.flow, flow),
            IndexRecordOption::Basic,
        )));
    }
    let exact = [
        (f.description_level, &req.level),
        (f.originating_agency, &req.originating_agency),
        (f.rule_id, &req.rule_id),
    ];
    for (field, value) in exact {
        if let Some(value) = value {
            filter(Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            )));
        }
    }
    if let Some(rules) = req.rules.query(f.rule_end) {
        filter(rules);
    }
    if let Some(hold) = req.hold {
        let held = RuleFilter::hold_on(f.rule_end, hold.on);
        if hold.held {
            filter(held);
        } else {
            filter(Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (Occur::MustNot, held),
            ])));
        }
    }
    if let Some(c) = req.communicable {
        let day = Term::from_field_i64(f.communicable_day, day_number(c.on));
        filter(Box::new(match c.communicable {
            true => RangeQuery::new(Bound::Unbounded, Bound::Included(day)),
            false => RangeQuery::new(Bound::Excluded(day), Bound::Unbounded),
        }));
    }
    if let Some(agencies) = &req.originating_agencies {
        let any: Vec<(Occur, Box<dyn Query>)> = agencies
            .iter()
            .map(|agency| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(f.originating_agency, agency),
                    IndexRecordOption::Basic,
                ));
                (Occur::Should, q)
            })
            .collect();
        // No agency: nothing matches (an empty BooleanQuery would).
        let restricted: Box<dyn Query> = match any.is_empty() {
            true => Box::new(BooleanQuery::new(vec![(
                Occur::MustNot,
                Box::new(AllQuery) as Box<dyn Query>,
            )])),
            false => Box::new(BooleanQuery::new(any)),
        };
        filter(restricted);
    }
    // Overlap of [first, last] with [from, to] is: first <= to and last >= from.
    if let Some(to) = req.to {
        let upper = Bound::Included(Term::from_field_i64(f.first_day, day_number(to)));
        filter(Box::new(RangeQuery::new(Bound::Unbounded, upper)));
    }
    if let Some(from) = req.from {
        let lower = Bound::Included(Term::from_field_i64(f.last_day, day_number(from)));
        filter(Box::new(RangeQuery::new(lower, Bound::Unbounded)));
    }
    let snippet_source = text.as_ref().map(|q| q.box_clone());
    let query: Box<dyn Query> = match (text, clauses.is_empty()) {
        (None, true) => Box::new(AllQuery),
        (Some(text), true) => text,
        (text, false) => {
            clauses.extend(text.map(|text| (Occur::Must, text)));
            Box::new(BooleanQuery::new(clauses))
        }
    };
    Ok(Built {
        query,
        text: snippet_source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_ignores_quoted_and_escaped_parentheses() {
        assert_eq!(paren_depth("a (b (c)) d"), 2);
        assert_eq!(paren_depth("\"((((\" x"), 0);
        assert_eq!(paren_depth("\\(\\(x"), 0);
        assert_eq!(paren_depth(&"(".repeat(40)), 40);
    }

    #[test]
    fn bounds_are_checked() {
        let ok = SearchQuery::default();
        assert!(ok.check().is_ok());
        let big = SearchQuery {
            limit: MAX_LIMIT + 1,
            ..ok.clone()
        };
        assert!(matches!(big.check(), Err(SearchError::LimitTooLarge { .. })));
        let deep = SearchQuery {
            offset: MAX_OFFSET + 1,
            ..ok.clone()
        };
        assert!(matches!(deep.check(), Err(SearchError::OffsetTooLarge { .. })));
        let day = |d| NaiveDate::from_ymd_opt(2020, 1, d).unwrap();
        let reversed = SearchQuery {
            from: Some(day(2)),
            to: Some(day(1)),
            ..ok.clone()
        };
        assert!(matches!(reversed.check(), Err(SearchError::EmptyDateRange { .. })));
        let long = SearchQuery::text("a ".repeat(MAX_QUERY_BYTES));
        assert!(matches!(long.check(), Err(SearchError::QueryTooLong { .. })));
        let nested = SearchQuery::text(format!("{}a{}", "(".repeat(20), ")".repeat(20)));
        assert!(matches!(nested.check(), Err(SearchError::QueryTooDeep { .. })));
    }
}
