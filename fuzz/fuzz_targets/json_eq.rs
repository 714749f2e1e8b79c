//! JSON equality as RFC 8785 sees it, shared by the targets that canonicalize.

use serde_json::Value;

/// Equal as JSON values, with every number read as an IEEE double: JCS writes `1500.0`
/// as `1500` and a large integer as the double nearest to it, so those are the same
/// value to it.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}
