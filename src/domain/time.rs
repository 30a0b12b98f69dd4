//! Times are stored in UTC (`timestamptz`) and shown in South African time.

use chrono::{DateTime, Utc};
use chrono_tz::Africa::Johannesburg;

/// `2026-11-24 14:05` in Africa/Johannesburg.
pub fn format_sast(at: DateTime<Utc>) -> String {
    at.with_timezone(&Johannesburg).format("%Y-%m-%d %H:%M").to_string()
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
    fn shows_south_african_time() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 22, 30, 0).unwrap();
        assert_eq!(format_sast(at), "2026-11-25 00:30");
        assert_eq!(format_sast_time(at), "00:30");
    }
}
