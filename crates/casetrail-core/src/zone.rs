//! [`Zone`]: an IANA time zone parsed once, when it is set, and carried with its name.

use std::fmt;

use jiff::tz::TimeZone;
use serde::{Serialize, Serializer};

/// A time zone an account reads and shows its dates in: the IANA name it was given
/// and the rules that name stands for. Two zones are equal when their names are.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// The zone of an IANA name such as `America/New_York`; `None` when the time-zone
    /// database does not know it.
    pub fn parse(name: &str) -> Option<Zone> {
        TimeZone::get(name).ok().map(|tz| Zone { name: name.to_string(), tz })
    }

    pub fn utc() -> Zone {
        Zone { name: "UTC".to_string(), tz: TimeZone::UTC }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl PartialEq<str> for Zone {
    fn eq(&self, other: &str) -> bool {
        self.name == other
    }
}

impl PartialEq<&str> for Zone {
    fn eq(&self, other: &&str) -> bool {
        self.name == *other
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({})", self.name)
    }
}

/// As its name, the way the API shows it.
impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_keeps_its_name_and_knows_its_rules() {
        let paris = Zone::parse("Europe/Paris").expect("a known zone");
        assert_eq!(paris, "Europe/Paris");
        assert_eq!(serde_json::to_string(&paris).unwrap(), "\"Europe/Paris\"");
        let summer = jiff::Timestamp::from_second(1_751_360_400).unwrap(); // 2025-07-01T09:00Z
        assert_eq!(paris.tz().to_offset(summer).seconds(), 7200);
        assert!(Zone::parse("Mars/Olympus_Mons").is_none());
        assert!(Zone::parse("").is_none());
        assert_eq!(Zone::utc(), "UTC");
    }
}
