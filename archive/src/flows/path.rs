//! Element paths into a payload, relative to its root element: `Enveloppe/Parametres/NomFic/@V`
//! selects attribute `V` of the first `NomFic` at that place, `Acte/Objet` the text of `Objet`,
//! `@IDActe` an attribute of the root. Names are local names: prefixes are ignored.

/// A parsed path.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct FieldPath {
    /// Element local names below the root.
    pub steps: Vec<String>,
    /// The attribute to read; `None` reads the element's text.
    pub attribute: Option<String>,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(
                "the path is empty; write element names separated by '/', e.g. Enveloppe/Parametres/NomFic/@V".into(),
            );
        }
        let mut steps: Vec<String> = text.split('/').map(str::to_string).collect();
        let attribute = match steps.last().and_then(|s| s.strip_prefix('@')) {
            Some(attr) => {
                let attr = attr.to_string();
                steps.pop();
                Some(attr)
            }
            None => None,
        };
        if let Some(attr) = &attribute {
            if !is_xml_name(attr) {
                return Err(format!("'@{attr}' does not name an attribute"));
            }
        }
        for step in &steps {
            if step.is_empty() {
                return Err(format!(
                    "path '{text}' has an empty step; do not start, end or double '/'"
                ));
            }
            if step.starts_with('@') {
                return Err(format!("path '{text}': an attribute (@…) can only be the last step"));
            }
            if !is_xml_name(step) {
                return Err(format!(
                    "path '{text}': '{step}' is not an element name (no prefixes, wildcards or predicates)"
                ));
            }
        }
        if steps.is_empty() && attribute.is_none() {
            return Err(format!(
                "path '{text}' selects the root's text; name an element or an attribute"
            ));
        }
        Ok(FieldPath { steps, attribute })
    }
}

impl TryFrom<String> for FieldPath {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        FieldPath::parse(&text)
    }
}

impl From<FieldPath> for String {
    fn from(p: FieldPath) -> String {
        p.to_string()
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.steps.join("/"))?;
        if let Some(attr) = &self.attribute {
            if !self.steps.is_empty() {
                f.write_str("/")?;
            }
            write!(f, "@{attr}")?;
        }
        Ok(())
    }
}

// A local XML name: no ':' (paths use local names) and no characters XML forbids in names.
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_elements_and_attributes() {
        let p = FieldPath::parse("Enveloppe/Parametres/NomFic/@V").unwrap();
        assert_eq!(p.steps, ["Enveloppe", "Parametres", "NomFic"]);
        assert_eq!(p.attribute.as_deref(), Some("V"));
        let p = FieldPath::parse("@IDActe").unwrap();
        assert!(p.steps.is_empty());
        assert_eq!(p.attribute.as_deref(), Some("IDActe"));
        let p = FieldPath::parse("Acte/Objet").unwrap();
        assert_eq!(p.attribute, None);
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in ["", "a//b", "/a", "a/", "@x/b", "a:b", "a/*", "a[1]", "a/@"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
