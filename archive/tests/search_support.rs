//! Builders shared by the search tests (included with `mod search_support;`).
#![allow(dead_code)]

use archipel_archive::search::UnitDoc;
use chrono::{NaiveDate, TimeZone, Utc};

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

pub fn unit(id: &str, title: &str) -> UnitDoc {
    UnitDoc {
        unit_id: id.to_string(),
        sip_unit_id: format!("ID{id}"),
        transfer_id: "transfer-1".into(),
        aip_id: "aip-1".into(),
        parent_id: None,
        flow: None,
        title: title.to_string(),
        description: String::new(),
        description_level: "File".into(),
        start_date: None,
        end_date: None,
        originating_agency: "FRAD069".into(),
        keywords: Vec::new(),
        text: String::new(),
        ingested_at: Utc
            .with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
            .single()
            .expect("valid test instant"),
    }
}

pub fn dated(id: &str, start: Option<NaiveDate>, end: Option<NaiveDate>) -> UnitDoc {
    UnitDoc {
        start_date: start,
        end_date: end,
        ..unit(id, &format!("unité {id}"))
    }
}

pub fn ids(page: &archipel_archive::search::SearchPage) -> Vec<String> {
    let mut ids: Vec<String> = page.hits.iter().map(|h| h.unit_id.clone()).collect();
    ids.sort();
    ids
}
