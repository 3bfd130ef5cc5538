//! [`Timestamp`]: the one clock of the crate, written the way the reference writes it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SubsecRound, Timelike, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a timestamp carries its zone, which decides how it is written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Zone {
    /// No offset at all (`2025-01-02T03:04:05`): what the Python SDK's `datetime.now()` makes.
    Naive,
    /// UTC, written with a `Z`.
    Utc,
    /// A fixed offset in seconds east of UTC, written as `+HH:MM`.
    Offset(i32),
}

/// A point in time with microsecond precision, as used by every `created_at`.
///
/// [`Timestamp::now`] reads the system clock in UTC and is written with a `Z`
/// (`2025-01-02T03:04:05.678901Z`), which the reference parses as an aware datetime.
/// Parsed values keep their zone form so that they are written back exactly as read:
/// naive (`2025-01-02T03:04:05.678901`), `Z`, or `+02:00`. The fraction is left out when
/// it is zero, as pydantic does.
///
/// Accepted on input (like pydantic): ISO 8601 date-times with `T` or a space, with or
/// without a zone; plain dates (`2025-01-02`, midnight); and unix time as a number
/// (seconds, or milliseconds when larger than 2×10¹⁰).
///
/// Ordering and equality compare the instant first (naive values count as UTC).
///
/// ```
/// use chatkit_agents::types::Timestamp;
/// let t: Timestamp = "2025-01-02T03:04:05+02:00".parse().unwrap();
/// assert_eq!(t.to_string(), "2025-01-02T03:04:05+02:00");
/// assert_eq!(t.to_utc().to_rfc3339(), "2025-01-02T01:04:05+00:00");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    instant: DateTime<Utc>,
    zone: Zone,
}

/// A string that is not a timestamp in any accepted form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {input:?}: expected an ISO 8601 date-time such as 2025-01-02T03:04:05.678901Z")]
pub struct TimestampParseError {
    input: String,
}

impl Timestamp {
    /// The current time in UTC, truncated to microseconds.
    pub fn now() -> Self {
        Self::from_utc(Utc::now())
    }

    /// A UTC timestamp (written with `Z`), truncated to microseconds.
    pub fn from_utc(instant: DateTime<Utc>) -> Self {
        Timestamp {
            instant: instant.trunc_subsecs(6),
            zone: Zone::Utc,
        }
    }

    /// A naive timestamp (written without a zone, as the Python SDK writes its own).
    pub fn from_naive(wall: NaiveDateTime) -> Self {
        Timestamp {
            instant: wall.and_utc().trunc_subsecs(6),
            zone: Zone::Naive,
        }
    }

    /// Unix time in seconds (fractions allowed); `None` when out of range.
    pub fn from_unix_seconds(seconds: f64) -> Option<Self> {
        if !seconds.is_finite() {
            return None;
        }
        let micros = (seconds * 1e6).round();
        if micros.abs() > i64::MAX as f64 {
            return None;
        }
        DateTime::from_timestamp_micros(micros as i64).map(Self::from_utc)
    }

    /// The instant in UTC (a naive timestamp is taken to be UTC).
    pub fn to_utc(&self) -> DateTime<Utc> {
        self.instant
    }

    /// This instant plus `seconds` (used by test clocks and durations).
    pub fn plus_seconds(&self, seconds: i64) -> Self {
        Timestamp {
            instant: self.instant + chrono::Duration::seconds(seconds),
            zone: self.zone,
        }
    }

    fn offset_seconds(&self) -> i32 {
        match self.zone {
            Zone::Offset(s) => s,
            Zone::Naive | Zone::Utc => 0,
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wall =
            self.instant.naive_utc() + chrono::Duration::seconds(self.offset_seconds().into());
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            wall.year(),
            wall.month(),
            wall.day(),
            wall.hour(),
            wall.minute(),
            wall.second()
        )?;
        let micros = wall.nanosecond() / 1_000;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        match self.zone {
            Zone::Naive => Ok(()),
            Zone::Utc => f.write_str("Z"),
            Zone::Offset(s) => {
                let sign = if s < 0 { '-' } else { '+' };
                let s = s.unsigned_abs();
                write!(f, "{sign}{:02}:{:02}", s / 3600, (s % 3600) / 60)?;
                if s % 60 != 0 {
                    write!(f, ":{:02}", s % 60)?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for Timestamp {
    type Err = TimestampParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = || TimestampParseError {
            input: input.to_owned(),
        };
        let s = input.trim();
        if s.len() == 10 {
            let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| err())?;
            return Ok(Self::from_naive(date.and_hms_opt(0, 0, 0).ok_or_else(err)?));
        }
        // Normalize a space separator and a lowercase `z` so one set of formats covers all.
        let mut normalized = s.replacen(' ', "T", 1);
        if normalized.ends_with('z') {
            normalized.pop();
            normalized.push('Z');
        }
        if let Ok(aware) = DateTime::parse_from_rfc3339(&normalized) {
            let offset = aware.offset().local_minus_utc();
            let zone = if normalized.ends_with('Z') {
                Zone::Utc
            } else if offset == 0 {
                // pydantic turns `+00:00` into UTC, which it writes back as `Z`.
                Zone::Utc
            } else {
                Zone::Offset(offset)
            };
            return Ok(Timestamp {
                instant: aware.with_timezone(&Utc).trunc_subsecs(6),
                zone,
            });
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(&normalized, format) {
                return Ok(Self::from_naive(naive));
            }
        }
        Err(err())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 8601 date-time string or unix seconds")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Timestamp, E> {
                s.parse().map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                // pydantic reads numbers above 2e10 as milliseconds.
                let seconds = if v.abs() > 2e10 { v / 1000.0 } else { v };
                Timestamp::from_unix_seconds(seconds)
                    .ok_or_else(|| E::custom(format!("unix time {v} is out of range")))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(s: &str) -> String {
        s.parse::<Timestamp>().unwrap().to_string()
    }

    #[test]
    fn writes_back_every_reference_form() {
        for s in [
            "2025-01-02T03:04:05.678901",
            "2025-01-02T03:04:05",
            "2025-01-02T03:04:05.678901Z",
            "2025-01-02T03:04:05+02:00",
            "2025-01-02T03:04:05.000001-05:30",
        ] {
            assert_eq!(round_trip(s), s);
        }
    }

    #[test]
    fn normalizes_like_pydantic() {
        assert_eq!(
            round_trip("2025-01-02T03:04:05.500"),
            "2025-01-02T03:04:05.500000"
        );
        assert_eq!(
            round_trip("2025-01-02T03:04:05+00:00"),
            "2025-01-02T03:04:05Z"
        );
        assert_eq!(round_trip("2025-01-02 03:04:05"), "2025-01-02T03:04:05");
        assert_eq!(round_trip("2025-01-02"), "2025-01-02T00:00:00");
        assert_eq!(
            round_trip("2025-01-02T03:04:05.1234567"),
            "2025-01-02T03:04:05.123456"
        );
    }

    #[test]
    fn numbers_are_unix_time() {
        let t: Timestamp = serde_json::from_str("1735787045").unwrap();
        assert_eq!(t.to_string(), "2025-01-02T03:04:05Z");
        let ms: Timestamp = serde_json::from_str("1735787045500").unwrap();
        assert_eq!(ms.to_string(), "2025-01-02T03:04:05.500000Z");
    }

    #[test]
    fn rejects_garbage_with_a_clear_message() {
        let err = "yesterday".parse::<Timestamp>().unwrap_err();
        assert!(err.to_string().contains("invalid timestamp \"yesterday\""));
        assert!(serde_json::from_str::<Timestamp>("true").is_err());
        assert!(serde_json::from_str::<Timestamp>("1e300").is_err());
    }

    #[test]
    fn now_is_utc_with_microseconds() {
        let s = Timestamp::now().to_string();
        assert!(s.ends_with('Z'), "{s}");
        let back: Timestamp = s.parse().unwrap();
        assert_eq!(back.to_string(), s);
    }

    #[test]
    fn orders_by_instant() {
        let a: Timestamp = "2025-01-02T03:04:05+02:00".parse().unwrap();
        let b: Timestamp = "2025-01-02T02:00:00Z".parse().unwrap();
        assert!(a < b);
    }
}
