//! Lossless JSON for elements the model keeps as-is (Content, extensions): an element with
//! neither attributes nor children is its text; otherwise an object with `@attribute` keys,
//! children by name (an array when repeated) and `#text` for non-blank text.

use serde_json::{Map, Value};

use super::tree::Node;

pub(crate) fn to_json(node: Node) -> Value {
    if node.attrs.is_empty() && node.children.is_empty() {
        return Value::String(node.text);
    }
    let mut map = Map::new();
    for (k, v) in node.attrs {
        map.insert(format!("@{k}"), Value::String(v));
    }
    if !node.text.trim().is_empty() {
        map.insert("#text".into(), Value::String(node.text));
    }
    for child in node.children {
        let name = child.name.clone();
        insert_child(&mut map, name, to_json(child));
    }
    Value::Object(map)
}

/// Adds `value` under `name`, turning a repeated name into an array in document order.
pub(crate) fn insert_child(map: &mut Map<String, Value>, name: String, value: Value) {
    match map.get_mut(&name) {
        None => {
            map.insert(name, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::limits::ParseLimits;
    use crate::manifest::tree::build;

    #[test]
    fn keeps_text_attributes_and_repeats() {
        let xml = "<C xmlns='urn:s'><Title xml:lang='fr'>Un</Title><Tag>a</Tag><Tag>b</Tag><Tag>c</Tag><Writer><FirstName>Jo</FirstName></Writer></C>";
        let v = to_json(build(xml, "urn:s", &ParseLimits::default()).unwrap());
        assert_eq!(v["Title"]["@xml:lang"], "fr");
        assert_eq!(v["Title"]["#text"], "Un");
        assert_eq!(v["Tag"], serde_json::json!(["a", "b", "c"]));
        assert_eq!(v["Writer"]["FirstName"], "Jo");
    }
}
