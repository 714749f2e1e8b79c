//! The errors of one event, collected field by field so that a refused request names
//! every bad field at once.

use serde_json::{Map, Value};

use super::FieldError;

/// Collects the errors of one event, each named under `prefix`.
pub(super) struct Checker<'a> {
    prefix: &'a str,
    pub(super) errors: Vec<FieldError>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(prefix: &'a str) -> Checker<'a> {
        Checker { prefix, errors: Vec::new() }
    }

    pub(super) fn fail(&mut self, field: &str, message: impl Into<String>) {
        let field = if self.prefix.is_empty() { field.to_string() } else { format!("{}{field}", self.prefix) };
        self.errors.push(FieldError::new(field, message));
    }

    /// A string member: `Ok(None)` when absent or null.
    pub(super) fn string(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        field: &str,
        max: usize,
        required: bool,
    ) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(field, "is required");
                }
                None
            }
            Some(Value::String(s)) => match string_problem(s, max, required) {
                Some(problem) => {
                    self.fail(field, problem);
                    None
                }
                None => Some(s.clone()),
            },
            Some(other) => {
                self.fail(field, format!("must be a string, not {}", json_type(other)));
                None
            }
        }
    }
}

/// What is wrong with the text of a string member, if anything.
pub(super) fn string_problem(s: &str, max: usize, required: bool) -> Option<String> {
    if required && s.trim().is_empty() {
        Some("must not be empty".to_string())
    } else if s.chars().count() > max {
        Some(format!("must be at most {max} characters"))
    } else if s.contains('\0') {
        // These members are also stored as plain text columns, and PostgreSQL's text
        // cannot hold U+0000: accepted, one such event would fail the whole group
        // commit it shares with others.
        Some("must not contain the NUL character (U+0000)".to_string())
    } else {
        None
    }
}

pub(super) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Cuts echoed user input short so an error message stays readable.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { s.chars().take(max).chain("…".chars()).collect() }
}
