//! Decoding of one GeoIP record into the few fields Tally keeps, for every schema it accepts.
//!
//! Two layouts exist in the wild and both are read by the same visitors, keyed on field names:
//! - MaxMind (GeoIP2/GeoLite2 City and Country, GeoLite2 ASN, DB-IP's own `.mmdb`):
//!   `country.iso_code`, `subdivisions[0].{iso_code,names.en}`, `city.{geoname_id,names.en}`,
//!   `autonomous_system_number`, `autonomous_system_organization`;
//! - flat (ip-location-db, DB-IP Lite repackaged, ipinfo-like): `country_code`, `state1`,
//!   `city` as a plain string, `autonomous_system_number` or `asn` (`"AS15169"`), `as_name`.
//!
//! Everything borrows from the database buffer, unknown fields are skipped without being
//! expanded, and a value of an unexpected type reads as "absent" instead of failing, so a
//! lookup allocates nothing here. This module does no I/O and knows nothing of reloading.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The location fields of one record (City, Country or flat country/city schema).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocationRecord<'a> {
    /// `country.iso_code` or flat `country_code`.
    pub country: Option<&'a str>,
    /// `registered_country.iso_code`: used when `country` is absent (e.g. satellite providers).
    pub registered_country: Option<&'a str>,
    /// First (largest) subdivision: ISO 3166-2 suffix such as `ENG` (MaxMind schema only).
    pub region_code: Option<&'a str>,
    /// First subdivision's English name, or flat `state1`.
    pub region_name: Option<&'a str>,
    /// `city.geoname_id` (MaxMind schema only).
    pub city_id: Option<u32>,
    /// `city.names.en`, or flat `city`.
    pub city_name: Option<&'a str>,
}

impl LocationRecord<'_> {
    /// Whether the record carries anything a location lookup can use.
    pub fn has_location(&self) -> bool {
        self.country.is_some() || self.registered_country.is_some() || self.city_name.is_some()
    }
}

/// The AS fields of one record (GeoLite2 ASN, GeoIP2 ISP, flat ASN schemas).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AsnRecord<'a> {
    /// `autonomous_system_number`, or `asn` as a number or an `"AS…"` string.
    pub number: Option<u32>,
    /// `autonomous_system_organization`, or `as_name`.
    pub org: Option<&'a str>,
}

/// Visitor methods that consume a value of a type the field does not expect and yield the
/// field's "absent" value (its `Default`), so an odd record never fails a lookup.
macro_rules! absent_on_containers {
    () => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Self::Value::default())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Self::Value::default())
        }
    };
}

/// See [`absent_on_containers`]; for scalars other than unsigned integers and strings.
macro_rules! absent_on_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
    };
}

/// See [`absent_on_containers`]; for unsigned integers.
macro_rules! absent_on_unsigned {
    () => {
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
    };
}

/// A string borrowed from the database; empty strings and other types read as `None`.
#[derive(Default)]
struct Text<'a>(Option<&'a str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(non_empty(s)))
            }
            absent_on_unsigned!();
            absent_on_scalars!();
            absent_on_containers!();
        }
        d.deserialize_any(V)
    }
}

/// An unsigned number that fits `u32`, given as any integer type or as a decimal string with an
/// optional `AS` prefix; anything else reads as `None`.
#[derive(Default)]
struct Number(Option<u32>);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                Ok(Number(u32::try_from(n).ok()))
            }
            fn visit_u128<E: de::Error>(self, n: u128) -> Result<Self::Value, E> {
                Ok(Number(u32::try_from(n).ok()))
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Number(parse_as_number(s)))
            }
            absent_on_scalars!();
            absent_on_containers!();
        }
        d.deserialize_any(V)
    }
}

/// `"AS15169"`, `"as15169"` or `"15169"` → 15169.
fn parse_as_number(s: &str) -> Option<u32> {
    let s = s.trim();
    let digits = match s.get(..2) {
        Some(p) if p.eq_ignore_ascii_case("AS") => &s[2..],
        _ => s,
    };
    digits.parse().ok()
}

fn non_empty(s: &str) -> Option<&str> {
    let t = s.trim();
    if t.is_empty() { None } else { Some(t) }
}

/// `names` map: only the English name is kept. A plain string counts as the name.
#[derive(Default)]
struct Names<'a>(Option<&'a str>);

impl<'de> Deserialize<'de> for Names<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Names<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut en = None;
                while let Some(key) = map.next_key::<Key>()? {
                    if key.0 == b"en" {
                        en = map.next_value::<Text>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Names(en))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Names(None))
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Names(non_empty(s)))
            }
            absent_on_unsigned!();
            absent_on_scalars!();
        }
        d.deserialize_any(V)
    }
}

/// A map key, compared as bytes without allocating.
struct Key<'a>(&'a [u8]);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Key(s.as_bytes()))
            }
            // A key that is not borrowed from the database matches no known field.
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Key(b""))
            }
        }
        d.deserialize_str(V)
    }
}

/// A MaxMind "place" (`subdivisions[i]`, `city`): a map with `iso_code`,
/// `geoname_id` and `names`, or, in flat schemas, just a string.
#[derive(Default)]
struct Place<'a> {
    iso_code: Option<&'a str>,
    geoname_id: Option<u32>,
    name: Option<&'a str>,
    /// The value itself when it is a plain string.
    text: Option<&'a str>,
}

impl<'de> Deserialize<'de> for Place<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Place<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a place map or a name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut place = Place::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key.0 {
                        b"iso_code" => place.iso_code = map.next_value::<Text>()?.0,
                        b"geoname_id" => place.geoname_id = map.next_value::<Number>()?.0,
                        b"names" => place.name = map.next_value::<Names>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(place)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Place::default())
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Place {
                    text: non_empty(s),
                    ..Place::default()
                })
            }
            absent_on_unsigned!();
            absent_on_scalars!();
        }
        d.deserialize_any(V)
    }
}

/// `country` / `registered_country`: only the code is kept, so the eight-language `names` map
/// that MaxMind stores with every country is skipped unread (a large share of decode time).
#[derive(Default)]
struct CountryCode<'a>(Option<&'a str>);

impl<'de> Deserialize<'de> for CountryCode<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CountryCode<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a country map or code")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut code = None;
                while let Some(key) = map.next_key::<Key>()? {
                    if key.0 == b"iso_code" {
                        code = map.next_value::<Text>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(CountryCode(code))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(CountryCode(None))
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(CountryCode(non_empty(s)))
            }
            absent_on_unsigned!();
            absent_on_scalars!();
        }
        d.deserialize_any(V)
    }
}

/// `subdivisions`: only the first (largest) one is decoded; the rest are skipped, so no
/// vector is built.
#[derive(Default)]
struct FirstPlace<'a>(Option<Place<'a>>);

impl<'de> Deserialize<'de> for FirstPlace<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstPlace<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of places")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element::<Place>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstPlace(first))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(FirstPlace(None))
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(FirstPlace(Some(Place {
                    text: non_empty(s),
                    ..Place::default()
                })))
            }
            absent_on_unsigned!();
            absent_on_scalars!();
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for LocationRecord<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LocationRecord<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a location record")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut rec = LocationRecord::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key.0 {
                        b"country" => rec.country = map.next_value::<CountryCode>()?.0,
                        b"registered_country" => {
                            rec.registered_country = map.next_value::<CountryCode>()?.0;
                        }
                        b"country_code" => rec.country = map.next_value::<Text>()?.0,
                        b"subdivisions" => {
                            if let Some(p) = map.next_value::<FirstPlace>()?.0 {
                                rec.region_code = p.iso_code;
                                rec.region_name = p.name.or(p.text);
                            }
                        }
                        b"state1" => rec.region_name = map.next_value::<Text>()?.0,
                        b"city" => {
                            let p = map.next_value::<Place>()?;
                            rec.city_id = p.geoname_id;
                            rec.city_name = p.name.or(p.text);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(rec)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LocationRecord::default())
            }
            absent_on_unsigned!();
            absent_on_scalars!();
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for AsnRecord<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AsnRecord<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ASN record")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut rec = AsnRecord::default();
                let mut as_name = None;
                while let Some(key) = map.next_key::<Key>()? {
                    match key.0 {
                        b"autonomous_system_number" | b"asn" => {
                            let n = map.next_value::<Number>()?.0;
                            rec.number = rec.number.or(n);
                        }
                        b"autonomous_system_organization" => {
                            rec.org = map.next_value::<Text>()?.0;
                        }
                        b"as_name" => as_name = map.next_value::<Text>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                rec.org = rec.org.or(as_name);
                Ok(rec)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(AsnRecord::default())
            }
            absent_on_unsigned!();
            absent_on_scalars!();
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_numbers_parse_with_or_without_prefix() {
        assert_eq!(parse_as_number("AS15169"), Some(15169));
        assert_eq!(parse_as_number("as7018"), Some(7018));
        assert_eq!(parse_as_number(" 1221 "), Some(1221));
        assert_eq!(parse_as_number("AS"), None);
        assert_eq!(parse_as_number("ASx"), None);
        assert_eq!(parse_as_number("99999999999"), None);
        assert_eq!(parse_as_number("é"), None);
    }
}
