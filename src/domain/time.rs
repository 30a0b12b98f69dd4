//! Times are stored in UTC (`timestamptz`) and shown in South African time.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Africa::Johannesburg;

/// Today's date in South Africa.
pub fn today_sast() -> NaiveDate {
    Utc::now().with_timezone(&Johannesburg).date_naive()
}

/// Start of a South African calendar day, as an instant.
pub fn sast_midnight(date: NaiveDate) -> DateTime<Utc> {
    Johannesburg
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .expect("South Africa has no daylight saving time")
        .with_timezone(&Utc)
}

/// A date typed into a filter (`2026-11-24`); empty is no date.
pub fn parse_date(raw: &str) -> Result<Option<NaiveDate>, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(Some).map_err(|_| "Use a date like 2026-11-24.")
}

/// A month as written in addresses and filters (`2026-11`): its first day.
pub fn parse_month(raw: &str) -> Result<NaiveDate, &'static str> {
    let raw = raw.trim();
    let valid = raw.len() == 7 && raw.as_bytes()[4] == b'-';
    valid
        .then(|| NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d").ok())
        .flatten()
        .filter(|d| (2000..=2999).contains(&chrono::Datelike::year(d)))
        .ok_or("Use a month like 2026-11.")
}

/// `November 2026`.
pub fn format_month(first_day: NaiveDate) -> String {
    first_day.format("%B %Y").to_string()
}

/// `2026-11`: the month a date falls in, as `parse_month` reads it.
pub fn month_key(date: NaiveDate) -> String {
    date.format("%Y-%m").to_string()
}

/// `2026-11-24 14:05` in Africa/Johannesburg.
pub fn format_sast(at: DateTime<Utc>) -> String {
    at.with_timezone(&Johannesburg).format("%Y-%m-%d %H:%M").to_string()
}

/// `3 December 2026`: a day as pages show it.
pub fn format_day(day: NaiveDate) -> String {
    day.format("%-d %B %Y").to_string()
}

/// `14:05` in Africa/Johannesburg.
pub fn format_sast_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Johannesburg).format("%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn months_parse_strictly() {
        let november = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(parse_month("2026-11"), Ok(november));
        assert_eq!(format_month(november), "November 2026");
        assert_eq!(month_key(november), "2026-11");
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", "", "2026-11-01", "1999-12"] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shows_south_african_time() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 22, 30, 0).unwrap();
        assert_eq!(format_sast(at), "2026-11-25 00:30");
        assert_eq!(format_sast_time(at), "00:30");
    }
}
