//! The program's one clock and its one timestamp writer: RFC 3339 to the second, as Terraform
//! writes times (`2026-12-03T15:04:05Z`): the lock's `created`, `timestamp()`, `timeadd`.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// Now, in UTC.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A time as RFC 3339 to the second, `Z` for UTC, the offset otherwise (`-08:00`).
pub fn rfc3339<Tz: TimeZone>(t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Now, written as [`rfc3339`].
pub fn now_rfc3339() -> String {
    rfc3339(&now())
}

/// Milliseconds since the epoch (what Flink's REST API reports times in).
pub fn now_millis() -> u64 {
    now().timestamp_millis().max(0) as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_terraforms_form() {
        let t = chrono::DateTime::parse_from_rfc3339("2017-11-22T00:00:00-08:00").unwrap();
        assert_eq!(super::rfc3339(&t), "2017-11-22T00:00:00-08:00");
        assert_eq!(super::rfc3339(&t.with_timezone(&chrono::Utc)), "2017-11-22T08:00:00Z");
        assert!(super::now_rfc3339().ends_with('Z') && super::now_rfc3339().len() == 20);
    }
}
