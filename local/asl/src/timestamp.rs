//! ISO-8601 timestamps as Step Functions accepts them in `Timestamp`, `TimestampPath` and the
//! `Timestamp*` Choice operators: the *extended offset date-time* form
//! (`2016-03-14T01:59:00Z`, `2016-03-14T01:59:00.123+02:00`), i.e. Java's
//! `ISO_OFFSET_DATE_TIME`: a `T` separator, optional seconds and up to nine fraction digits, and
//! a mandatory offset (`Z`, `±HH:MM` or `±HH:MM:SS`). Anything else (a space separator, no
//! offset, month 13, hour 25) is not a timestamp.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Parse an extended offset date-time; `None` when `text` is not one.
pub(crate) fn parse(text: &str) -> Option<OffsetDateTime> {
    let b = text.as_bytes();
    let mut p = Cursor { b, i: 0 };
    let year = p.digits(4)?;
    p.lit(b'-')?;
    let month = p.digits(2)?;
    p.lit(b'-')?;
    let day = p.digits(2)?;
    if !matches!(p.next()?, b'T' | b't') {
        return None;
    }
    let hour = p.digits(2)?;
    p.lit(b':')?;
    let minute = p.digits(2)?;
    let mut second = 0;
    let mut nanos = 0u32;
    if p.peek() == Some(b':') {
        p.i += 1;
        second = p.digits(2)?;
        if p.peek() == Some(b'.') {
            p.i += 1;
            let start = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            let len = p.i - start;
            if len == 0 || len > 9 {
                return None;
            }
            let digits = std::str::from_utf8(&b[start..p.i]).ok()?;
            nanos = digits.parse::<u32>().ok()? * 10u32.pow(u32::try_from(9 - len).ok()?);
        }
    }
    let offset = match p.next()? {
        b'Z' | b'z' => UtcOffset::UTC,
        sign @ (b'+' | b'-') => {
            let h = p.digits(2)?;
            p.lit(b':')?;
            let m = p.digits(2)?;
            let s = if p.peek() == Some(b':') {
                p.i += 1;
                p.digits(2)?
            } else {
                0
            };
            let k: i8 = if sign == b'-' { -1 } else { 1 };
            UtcOffset::from_hms(
                k * i8::try_from(h).ok()?,
                k * i8::try_from(m).ok()?,
                k * i8::try_from(s).ok()?,
            )
            .ok()?
        }
        _ => return None,
    };
    if p.i != b.len() {
        return None;
    }
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn lit(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn digits(&mut self, n: usize) -> Option<u32> {
        let slice = self.b.get(self.i..self.i + n)?;
        if !slice.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        std::str::from_utf8(slice).ok()?.parse().ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_offset_date_times_with_or_without_fractions() {
        for ok in [
            "2016-03-14T01:59:00Z",
            "2026-11-25T06:14:40.000000Z",
            "2026-11-25T06:14:40.00Z",
            "2016-03-05T21:29:29.243167252Z",
            "2016-03-14T01:59:00+02:00",
            "2016-03-14T01:59Z",
        ] {
            assert!(parse(ok).is_some(), "{ok}");
        }
    }

    #[test]
    fn refuses_timestamps_without_offset_or_t_or_with_bad_fields() {
        for bad in [
            "2016-12-05T21:29:29",
            "2026-11-25T06:14:40.000000",
            "2016-12-05 21:29:29Z",
            "2016-13-05T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-02-30T00:00:00Z",
            "",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn offsets_are_applied_when_comparing() {
        assert_eq!(
            parse("2016-03-14T03:59:00+02:00"),
            parse("2016-03-14T01:59:00Z")
        );
    }
}
