//! The index schema and the French analyzer, shared by every tenant's index.

use chrono::NaiveDate;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{DateTime, Index, TantivyDocument};

use super::UnitDoc;

/// Name under which the French analyzer is registered on every index.
pub(crate) const FRENCH: &str = "archipel_fr";
/// Bumped whenever the schema or the analyzer changes, so a stale on-disk cache is discarded instead of misread.
pub(crate) const SCHEMA_VERSION: u32 = 3;
/// Longer tokens are base64 blobs or hashes, not words anyone searches for.
const MAX_TOKEN_CHARS: usize = 48;

/// The French analyzer: stop words go before folding (the list is accented); folding goes before stemming so the
/// stemmer always sees the unaccented form people type (`securites` and `Sécurité` both end up as `securit`; stemming
/// the accented form first would give `secur` for one and `securit` for the other).
pub(crate) fn french_analyzer() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_CHARS))
        .filter(LowerCaser)
        .dynamic();
    let builder = match StopWordFilter::new(Language::French) {
        Some(stop_words) => builder.filter_dynamic(stop_words),
        None => builder,
    };
    builder
        .filter_dynamic(AsciiFoldingFilter)
        .filter_dynamic(Stemmer::new(Language::French))
        .build()
}

/// Handles on the fields of [`schema`].
#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub unit_id: Field,
    pub sip_unit_id: Field,
    pub transfer_id: Field,
    pub aip_id: Field,
    pub parent_id: Field,
    pub flow: Field,
    pub description_level: Field,
    pub originating_agency: Field,
    pub title: Field,
    pub description: Field,
    pub keywords: Field,
    pub text: Field,
    /// First and last day covered, as days since 1 January of year 1; indexed for range filters.
    pub first_day: Field,
    pub last_day: Field,
    /// The unit's own dates, stored only, so hits can echo exactly what the catalog said.
    pub start_day: Field,
    pub end_day: Field,
    pub ingested_at: Field,
    /// Year of the first day covered, for the year facet.
    pub year: Field,
    /// Every rule category and rule id the unit carries (own or inherited), for exact filters.
    pub rule_category: Field,
    pub rule_id: Field,
    /// One key per rule tying its category, final action and end day together (see `rules::end_key`).
    pub rule_end: Field,
    /// The first day the unit is freely communicable, as a day number; `i64::MAX` when never.
    pub communicable_day: Field,
}

impl Fields {
    /// Text fields a bare query word is looked up in.
    pub fn default_text(&self) -> Vec<Field> {
        vec![self.title, self.description, self.keywords, self.text]
    }
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let french = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(FRENCH)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        unit_id: b.add_text_field("unit_id", STRING | STORED),
        sip_unit_id: b.add_text_field("sip_unit_id", STRING | STORED),
        transfer_id: b.add_text_field("transfer_id", STRING | STORED),
        aip_id: b.add_text_field("aip_id", STRING | STORED),
        parent_id: b.add_text_field("parent_id", STRING | STORED),
        // FAST: the facets count these per matching unit from their columns.
        flow: b.add_text_field("flow", STRING | STORED | FAST),
        description_level: b.add_text_field("level", STRING | STORED | FAST),
        originating_agency: b.add_text_field("originating_agency", STRING | STORED | FAST),
        title: b.add_text_field("title", french.clone()),
        description: b.add_text_field("description", french.clone()),
        keywords: b.add_text_field("keywords", french.clone()),
        text: b.add_text_field("text", french),
        first_day: b.add_i64_field("first_day", INDEXED | FAST),
        last_day: b.add_i64_field("last_day", INDEXED | FAST),
        start_day: b.add_i64_field("start_day", STORED),
        end_day: b.add_i64_field("end_day", STORED),
        ingested_at: b.add_date_field("ingested_at", STORED | FAST),
        year: b.add_i64_field("year", FAST),
        rule_category: b.add_text_field("rule_category", STRING),
        rule_id: b.add_text_field("rule_id", STRING),
        // Indexed, not FAST: a rule filter is a union of a few key ranges, which the term dictionary walks
        // in proportion to the matches rather than scanning a column once per range.
        rule_end: b.add_i64_field("rule_end", INDEXED),
        communicable_day: b.add_i64_field("communicable_day", INDEXED),
    };
    (b.build(), fields)
}

pub(crate) fn register_analyzers(index: &Index) {
    index.tokenizers().register(FRENCH, french_analyzer());
}

pub(crate) fn day_number(day: NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(day.num_days_from_ce())
}

pub(crate) fn day_from_number(n: i64) -> Option<NaiveDate> {
    i32::try_from(n).ok().and_then(NaiveDate::from_num_days_from_ce_opt)
}

pub(crate) fn to_document(f: &Fields, unit: &UnitDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.unit_id, &unit.unit_id);
    doc.add_text(f.sip_unit_id, &unit.sip_unit_id);
    doc.add_text(f.transfer_id, &unit.transfer_id);
    doc.add_text(f.aip_id, &unit.aip_id);
    if let Some(parent) = &unit.parent_id {
        doc.add_text(f.parent_id, parent);
    }
    if let Some(flow) = &unit.flow {
        doc.add_text(f.flow, flow);
    }
    // An empty value is no value: the facets count it as missing, not as a bucket named "".
    for (field, value) in [
        (f.description_level, &unit.description_level),
        (f.originating_agency, &unit.originating_agency),
    ] {
        if !value.is_empty() {
            doc.add_text(field, value);
        }
    }
    doc.add_text(f.title, &unit.title);
    doc.add_text(f.description, &unit.description);
    for keyword in &unit.keywords {
        doc.add_text(f.keywords, keyword);
    }
    doc.add_text(f.text, &unit.text);
    if let Some((first, last)) = unit.day_range() {
        doc.add_i64(f.first_day, day_number(first));
        doc.add_i64(f.last_day, day_number(last));
        doc.add_i64(f.year, i64::from(chrono::Datelike::year(&first)).clamp(0, 9999));
    }
    for rule in &unit.rules {
        doc.add_text(f.rule_category, &rule.category);
        doc.add_text(f.rule_id, &rule.rule_id);
        if let Some(key) = super::rules::end_key(rule) {
            doc.add_i64(f.rule_end, key);
        }
    }
    if let Some(start) = unit.start_date {
        doc.add_i64(f.start_day, day_number(start));
    }
    if let Some(end) = unit.end_date {
        doc.add_i64(f.end_day, day_number(end));
    }
    doc.add_i64(f.communicable_day, unit.communicable_from.map_or(i64::MAX, day_number));
    let ingested = DateTime::from_timestamp_micros(unit.ingested_at.timestamp_micros());
    doc.add_date(f.ingested_at, ingested);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::TokenStream;

    fn tokens(text: &str) -> Vec<String> {
        let mut analyzer = french_analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    #[test]
    fn accents_case_and_plurals_meet() {
        let pairs = [
            ("Délibération", "deliberations"),
            ("délibérations", "DELIBERATION"),
            ("Arrêté", "arretes"),
            ("Préfecture", "prefectures"),
            ("état civil", "Etat civils"),
            ("Élections municipales", "election municipale"),
            ("marchés publics", "marche public"),
            ("archivé", "archives"),
            ("Sécurité", "securites"),
            ("sociétés", "societe"),
            ("activités", "activite"),
            ("hôpital", "hopitaux"),
            ("église", "eglises"),
            ("propriété", "proprietes"),
        ];
        for (indexed, typed) in pairs {
            assert_eq!(tokens(indexed), tokens(typed), "`{indexed}` vs `{typed}`");
        }
    }

    #[test]
    fn stop_words_go_and_distinct_words_stay_apart() {
        assert_eq!(
            tokens("le registre des délibérations"),
            tokens("registre délibérations")
        );
        assert_ne!(tokens("conseil"), tokens("consul"));
        assert_ne!(tokens("permis"), tokens("permanence"));
        assert!(tokens(&"x".repeat(200)).is_empty(), "blob-like tokens are dropped");
    }

    #[test]
    fn day_numbers_round_trip_and_keep_order() {
        let early = NaiveDate::from_ymd_opt(1550, 3, 1).unwrap();
        let late = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert!(day_number(early) < day_number(late));
        assert_eq!(day_from_number(day_number(early)), Some(early));
        assert_eq!(day_from_number(day_number(late)), Some(late));
    }
}
