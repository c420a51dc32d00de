//! Time as records keep it.

use time::{OffsetDateTime, UtcOffset};

/// Reads the wall clock as RFC 3339 (UTC, milliseconds).
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// A time as the records keep it: RFC 3339, UTC, milliseconds (so that text order is time
/// order).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}
