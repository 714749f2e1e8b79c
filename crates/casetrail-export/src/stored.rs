//! Rows straight from a stored body, the JSON that [`Event`] serializes to (as
//! `ChainedEvent::body` keeps it), without building an `Event` per row.
//!
//! The body is read into [`StoredEvent`], a view whose texts borrow from the body
//! (only a text with a JSON escape is copied) and whose members no column shows are
//! checked as `Event` checks them but not kept: metadata is walked, never built. So
//! the view reads exactly the bodies that `Event` reads, and shows them alike. When
//! it cannot read a body (a value nested deeper than `serde_json` goes, or a body
//! that is not an event), the body is parsed as every other reader parses it
//! ([`parse_bounded`]), so that the row, or the error, is the same as ever.

use std::borrow::Cow;
use std::fmt;

use casetrail_core::bounded::parse_bounded;
use casetrail_core::{AccountId, Activity, ActorType, Event, EventId, RecordType};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::row::{CellBuffers, RowParts, Shown, cells, event_cells};
use crate::stored_time::StoredTime;
use crate::{COLUMNS, ExportError};

/// A body as the columns see it, the other members named only to be checked.
#[derive(Deserialize)]
struct StoredEvent<'a> {
    id: EventId,
    #[serde(rename = "account_id")]
    _account_id: AccountId,
    #[serde(rename = "seq")]
    _seq: u64,
    occurred_at: StoredTime,
    #[serde(rename = "recorded_at")]
    _recorded_at: StoredTime,
    #[serde(borrow)]
    actor: StoredActor<'a>,
    activity: Activity,
    #[serde(borrow)]
    description: Text<'a>,
    #[serde(borrow)]
    related: Vec<StoredRelated<'a>>,
    #[serde(borrow)]
    changes: Vec<StoredChange<'a>>,
    #[serde(rename = "metadata")]
    _metadata: WalkedObject,
    #[serde(borrow)]
    context: StoredContext<'a>,
    #[serde(borrow, rename = "idempotency_key")]
    _idempotency_key: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct StoredActor<'a> {
    #[serde(borrow, rename = "id")]
    _id: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    email: Option<Text<'a>>,
    #[serde(rename = "type")]
    _kind: ActorType,
}

#[derive(Deserialize)]
struct StoredRelated<'a> {
    #[serde(rename = "type")]
    kind: RecordType,
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct StoredChange<'a> {
    #[serde(borrow)]
    field: Text<'a>,
    #[serde(borrow)]
    before: StoredValue<'a>,
    #[serde(borrow)]
    after: StoredValue<'a>,
}

/// `Context` refuses members it does not know, and so does this.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredContext<'a> {
    #[serde(borrow)]
    ip: Option<Text<'a>>,
    #[serde(borrow, rename = "user_agent")]
    _user_agent: Option<Text<'a>>,
    #[serde(borrow, rename = "request_id")]
    _request_id: Option<Text<'a>>,
    #[serde(borrow, rename = "correlation_id")]
    _correlation_id: Option<Text<'a>>,
}

impl StoredEvent<'_> {
    fn cells<'r>(&'r self, buffers: &'r mut CellBuffers) -> [&'r str; COLUMNS] {
        let parts = RowParts {
            occurred_at: self.occurred_at.0,
            name: self.actor.name.as_str(),
            email: self.actor.email.as_ref().map_or("", Text::as_str),
            activity: self.activity,
            description: self.description.as_str(),
            related: self.related.iter().map(|r| (r.kind, r.name.as_ref().unwrap_or(&r.id).as_str())),
            changes: self.changes.iter().map(|c| (c.field.as_str(), c.before.shown(), c.after.shown())),
            ip: self.context.ip.as_ref().map_or("", Text::as_str),
            id: self.id,
        };
        cells(parts, buffers)
    }
}

/// Reads `body` and hands its ten cell texts to `write`.
fn with_stored_cells<T>(
    body: &str,
    buffers: &mut CellBuffers,
    write: impl FnOnce([&str; COLUMNS]) -> T,
) -> Result<T, serde_json::Error> {
    match serde_json::from_str::<StoredEvent<'_>>(body) {
        Ok(view) => Ok(write(view.cells(buffers))),
        Err(_) => {
            let event: Event = parse_bounded(body)?;
            Ok(write(event_cells(&event, buffers)))
        }
    }
}

/// A JSON string, borrowed from the body unless it holds an escape. (`Cow<str>`
/// would borrow only as a member of its own with `#[serde(borrow)]`, never inside
/// an `Option`.)
struct Text<'a>(Cow<'a, str>);

impl Text<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text<'a>, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

/// Reads a string into a [`Text`]; [`StoredValue`]'s visitor hands strings to it too.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v)))
    }
}

/// A change's value: a string as [`Text`], anything else as the [`Value`] that
/// `Change` would hold (arrays and objects are rare; they are built as `Value` reads
/// them, so that the JSON shown is the same, key order and all).
enum StoredValue<'a> {
    Text(Text<'a>),
    Json(Value),
}

impl StoredValue<'_> {
    fn shown(&self) -> Shown<'_> {
        match self {
            StoredValue::Text(t) => Shown::Text(t.as_str()),
            StoredValue::Json(v) => Shown::of(v),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StoredValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StoredValue<'a>, D::Error> {
        struct ValueVisitor;

        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = StoredValue<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<StoredValue<'de>, E> {
                TextVisitor.visit_borrowed_str(v).map(StoredValue::Text)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<StoredValue<'de>, E> {
                TextVisitor.visit_str(v).map(StoredValue::Text)
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<StoredValue<'de>, E> {
                TextVisitor.visit_string(v).map(StoredValue::Text)
            }

            // The scalars become what `Value`'s own visitor makes of them.
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<StoredValue<'de>, E> {
                Ok(StoredValue::Json(Value::Bool(v)))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StoredValue<'de>, E> {
                Ok(StoredValue::Json(Value::from(v)))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StoredValue<'de>, E> {
                Ok(StoredValue::Json(Value::from(v)))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<StoredValue<'de>, E> {
                Ok(StoredValue::Json(Value::from(v)))
            }

            fn visit_unit<E: de::Error>(self) -> Result<StoredValue<'de>, E> {
                Ok(StoredValue::Json(Value::Null))
            }

            fn visit_none<E: de::Error>(self) -> Result<StoredValue<'de>, E> {
                Ok(StoredValue::Json(Value::Null))
            }

            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<StoredValue<'de>, D::Error> {
                StoredValue::deserialize(deserializer)
            }

            // Arrays and objects are handed, as they come, to `Value`'s visitor.
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<StoredValue<'de>, A::Error> {
                Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(StoredValue::Json)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StoredValue<'de>, A::Error> {
                Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(StoredValue::Json)
            }
        }

        deserializer.deserialize_any(ValueVisitor)
    }
}

/// A JSON object read the way `Map<String, Value>` reads one, and kept nowhere. Its
/// values are walked through `deserialize_any`, as `Value` walks them, so that a
/// value nested deeper than `serde_json` parses fails here as it fails there.
struct WalkedObject;

impl<'de> Deserialize<'de> for WalkedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<WalkedObject, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = WalkedObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_unit<E: de::Error>(self) -> Result<WalkedObject, E> {
                Ok(WalkedObject)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WalkedObject, A::Error> {
                while map.next_entry::<Walked, Walked>()?.is_some() {}
                Ok(WalkedObject)
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// The key by which serde_json marks raw JSON text inside an object.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Any JSON value, walked to its end and kept nowhere.
struct Walked;

impl<'de> Deserialize<'de> for Walked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Walked, D::Error> {
        struct WalkVisitor;

        impl<'de> Visitor<'de> for WalkVisitor {
            type Value = Walked;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Walked, E> {
                Ok(Walked)
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Walked, E> {
                Ok(Walked)
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Walked, E> {
                Ok(Walked)
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Walked, E> {
                Ok(Walked)
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Walked, E> {
                Ok(Walked)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Walked, E> {
                Ok(Walked)
            }

            fn visit_none<E: de::Error>(self) -> Result<Walked, E> {
                Ok(Walked)
            }

            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Walked, D::Error> {
                Walked::deserialize(deserializer)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Walked, A::Error> {
                while seq.next_element::<Walked>()?.is_some() {}
                Ok(Walked)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Walked, A::Error> {
                // `Value` (with serde_json's `raw_value`) takes an object whose first
                // key is this token for raw JSON text held in a string, which it
                // parses; text that is not JSON fails there, and so must fail here.
                if let Some(key) = map.next_key::<Text<'_>>()? {
                    if key.as_str() == RAW_VALUE_TOKEN {
                        let raw: Text<'_> = map.next_value()?;
                        serde_json::from_str::<Walked>(raw.as_str()).map_err(<A::Error as de::Error>::custom)?;
                        return Ok(Walked);
                    }
                    map.next_value::<Walked>()?;
                }
                while map.next_entry::<Walked, Walked>()?.is_some() {}
                Ok(Walked)
            }
        }

        deserializer.deserialize_any(WalkVisitor)
    }
}

/// Where a row comes from: an event already parsed, or a stored body.
#[derive(Clone, Copy)]
pub(crate) enum Source<'e> {
    Event(&'e Event),
    Stored(&'e str),
}

impl Source<'_> {
    /// Hands the row's ten cell texts to `write`.
    pub(crate) fn with_cells<T>(
        self,
        buffers: &mut CellBuffers,
        write: impl FnOnce([&str; COLUMNS]) -> T,
    ) -> Result<T, ExportError> {
        match self {
            Source::Event(event) => Ok(write(event_cells(event, buffers))),
            Source::Stored(body) => with_stored_cells(body, buffers, write).map_err(ExportError::Unreadable),
        }
    }
}
