//! Turns two snapshots of a record (`before`, `after`) into the list of changed
//! leaves, as docs/API.md §4 defines it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::event::Change;

/// One entry per changed leaf, sorted by dotted path; a side where the leaf is absent
/// is `null`. Objects are walked into; anything else is a leaf compared whole.
pub fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<Change> {
    let mut left = BTreeMap::new();
    let mut right = BTreeMap::new();
    flatten(before, &mut String::new(), &mut left);
    flatten(after, &mut String::new(), &mut right);

    let mut changes = Vec::new();
    let mut paths: Vec<&String> = left.keys().chain(right.keys()).collect();
    paths.sort();
    paths.dedup();
    for path in paths {
        let b = left.get(path).copied().unwrap_or(&Value::Null);
        let a = right.get(path).copied().unwrap_or(&Value::Null);
        if b != a {
            changes.push(Change { field: path.clone(), before: b.clone(), after: a.clone() });
        }
    }
    changes
}

/// Collects every leaf under `object` by dotted path. Objects are walked into, so an
/// empty object has no leaves: `{}` → `{"a": 1}` is the one change `a: null → 1`.
fn flatten<'a>(object: &'a Map<String, Value>, prefix: &mut String, out: &mut BTreeMap<String, &'a Value>) {
    for (key, value) in object {
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(key);
        match value {
            Value::Object(inner) => flatten(inner, prefix, out),
            _ => {
                out.insert(prefix.clone(), value);
            }
        }
        prefix.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn fields(changes: &[Change]) -> Vec<(&str, Value, Value)> {
        changes.iter().map(|c| (c.field.as_str(), c.before.clone(), c.after.clone())).collect()
    }

    #[test]
    fn nested_paths_sorted_and_unchanged_left_out() {
        let before =
            obj(json!({"status": "Intake", "address": {"city": "Boston", "zip": "02110"}, "tags": ["a"], "n": 1}));
        let after = obj(
            json!({"status": "Active", "address": {"city": "Cambridge", "zip": "02110"}, "tags": ["a", "b"], "n": 1}),
        );
        assert_eq!(
            fields(&diff(&before, &after)),
            vec![
                ("address.city", json!("Boston"), json!("Cambridge")),
                ("status", json!("Intake"), json!("Active")),
                ("tags", json!(["a"]), json!(["a", "b"])),
            ]
        );
    }

    #[test]
    fn missing_side_is_null_and_missing_object_gives_its_leaves() {
        let before = obj(json!({"phone": "555"}));
        let after = obj(json!({"address": {"city": "Austin", "geo": {"lat": 30.2}}}));
        assert_eq!(
            fields(&diff(&before, &after)),
            vec![
                ("address.city", Value::Null, json!("Austin")),
                ("address.geo.lat", Value::Null, json!(30.2)),
                ("phone", json!("555"), Value::Null),
            ]
        );
    }

    #[test]
    fn leaf_replaced_by_object_and_type_changes() {
        let before = obj(json!({"a": "x", "b": 1, "c": null}));
        let after = obj(json!({"a": {"k": 2}, "b": "1", "c": false}));
        assert_eq!(
            fields(&diff(&before, &after)),
            vec![
                ("a", json!("x"), Value::Null),
                ("a.k", Value::Null, json!(2)),
                ("b", json!(1), json!("1")),
                ("c", Value::Null, json!(false)),
            ]
        );
    }

    #[test]
    fn empty_objects_are_walked_into_and_have_no_leaves() {
        let before = obj(json!({"urls": {}, "gone": {}}));
        let after = obj(json!({"urls": {"case": "x"}}));
        assert_eq!(fields(&diff(&before, &after)), vec![("urls.case", Value::Null, json!("x"))]);
    }

    #[test]
    fn explicit_null_equals_absent_is_not_a_change() {
        // A leaf that is null on one side and absent on the other reads the same
        // either way (`null`), so it is not reported.
        let before = obj(json!({"x": null}));
        let after = obj(json!({}));
        assert!(diff(&before, &after).is_empty());
        assert!(diff(&obj(json!({"same": [1, {"a": 1}]})), &obj(json!({"same": [1, {"a": 1}]}))).is_empty());
    }
}
