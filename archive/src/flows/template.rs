//! Text templates such as `"PES {NomFic} — {CodCol}"`: literal text and `{field}` placeholders.
//! `{{` and `}}` write literal braces.

use std::collections::BTreeMap;

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Template {
    parts: Vec<Part>,
    source: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(String),
}

/// Names every template may use besides the flow's fields.
pub const BUILTIN_NAMES: &[&str] = &["file_name", "file_stem", "flow_id", "flow_name", "kind"];

impl Template {
    /// Parses `text`; the error says what is wrong at which character.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err(format!(
                            "'{{' at character {at} is never closed; write {{{{ for a literal brace"
                        ));
                    }
                    if !is_name(&name) {
                        return Err(format!(
                            "placeholder {{{name}}} at character {at} is not a field name (letters, digits, '_')"
                        ));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(name));
                }
                '}' => return Err(format!("lone '}}' at character {at}; write }}}} for a literal brace")),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template {
            parts,
            source: text.to_string(),
        })
    }

    /// The field names the template uses, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Renders with `values`; a multi-valued field is joined with ", ", a missing one is empty.
    pub fn render(&self, values: &BTreeMap<String, Vec<String>>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Field(name) => {
                    if let Some(v) = values.get(name) {
                        out.push_str(&v.join(", "));
                    }
                }
            }
        }
        out
    }

    /// Renders, or `None` when a field the template uses has no value: an element built from it
    /// is then left out rather than written half-filled.
    pub fn render_complete(&self, values: &BTreeMap<String, Vec<String>>) -> Option<String> {
        let complete = self.fields().all(|f| values.get(f).is_some_and(|v| !v.is_empty()));
        complete.then(|| self.render(values))
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl TryFrom<String> for Template {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Template::parse(&text)
    }
}

impl From<Template> for String {
    fn from(t: Template) -> String {
        t.source
    }
}

/// A field or placeholder name: ASCII letters, digits and `_`, not starting with a digit.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn renders_fields_literals_and_escaped_braces() {
        let t = Template::parse("PES {NomFic} — {CodCol} {{x}}").unwrap();
        assert_eq!(t.fields().collect::<Vec<_>>(), ["NomFic", "CodCol"]);
        let v = values(&[("NomFic", &["a.xml"]), ("CodCol", &["123"])]);
        assert_eq!(t.render(&v), "PES a.xml — 123 {x}");
    }

    #[test]
    fn multi_values_join_and_missing_values_are_empty_or_incomplete() {
        let t = Template::parse("{a}/{b}").unwrap();
        let v = values(&[("a", &["1", "2"])]);
        assert_eq!(t.render(&v), "1, 2/");
        assert_eq!(t.render_complete(&v), None);
        let v = values(&[("a", &["1"]), ("b", &["2"])]);
        assert_eq!(t.render_complete(&v).as_deref(), Some("1/2"));
    }

    #[test]
    fn rejects_unclosed_lone_and_bad_placeholders() {
        assert!(Template::parse("a {b").unwrap_err().contains("never closed"));
        assert!(Template::parse("a } b").unwrap_err().contains("lone"));
        assert!(Template::parse("{a b}").unwrap_err().contains("not a field name"));
        assert!(Template::parse("{}").unwrap_err().contains("not a field name"));
    }
}
