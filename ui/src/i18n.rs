//! The interface speaks French first, English second: a `lang` cookie set by the switch wins,
//! then the browser's Accept-Language, then French. Wording sits beside each other in the code
//! (`l.t("Versements", "Transfers")`), so no label can miss its translation.

use axum::http::HeaderMap;

pub const COOKIE: &str = "archipel_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub fn t(self, fr: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn from_headers(headers: &HeaderMap) -> Lang {
        if let Some(l) = crate::session::cookie(headers, COOKIE).and_then(Lang::parse) {
            return l;
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        from_accept_language(accept)
    }
}

/// The preferred of French and English in an Accept-Language header; French when neither.
pub fn from_accept_language(header: &str) -> Lang {
    let mut best: Option<(f32, Lang)> = None;
    for (order, item) in header.split(',').enumerate() {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let lang = match tag.split('-').next() {
            Some("fr") => Lang::Fr,
            Some("en") => Lang::En,
            _ => continue,
        };
        // Equal weights: the first listed wins (a tiny tie-break by position).
        let weight = q - order as f32 * 1e-4;
        if best.is_none_or(|(w, _)| weight > w) {
            best = Some((weight, lang));
        }
    }
    best.map_or(Lang::Fr, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_french_first() {
        assert_eq!(from_accept_language(""), Lang::Fr);
        assert_eq!(from_accept_language("de-DE,de;q=0.9"), Lang::Fr);
        assert_eq!(from_accept_language("en-US,en;q=0.9,fr;q=0.8"), Lang::En);
        assert_eq!(from_accept_language("fr-FR,fr;q=0.9,en;q=0.8"), Lang::Fr);
        assert_eq!(from_accept_language("de;q=1,en;q=0.5,fr;q=0.7"), Lang::Fr);
        assert_eq!(from_accept_language("en;q=0.9,fr;q=0.9"), Lang::En);
    }
}
