//! `Range: bytes=…` request headers (RFC 9110 §14), resolved against a length.

use std::ops::Range;

/// Most ranges honoured in one request; more and the header is ignored.
pub const MAX_RANGES: usize = 32;

/// What a `Range` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranges {
    /// No usable header: send everything.
    Full,
    /// No requested range overlaps the content: 416.
    Unsatisfiable,
    /// These byte ranges, sorted and with overlaps merged when there are several.
    Partial(Vec<Range<u64>>),
}

/// Resolves `header` against content of `len` bytes. A malformed header, a
/// unit other than `bytes` or too many ranges are ignored, as RFC 9110 allows.
pub fn parse(header: &str, len: u64) -> Ranges {
    let Some((unit, specs)) = header.split_once('=') else {
        return Ranges::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Ranges::Full;
    }
    let mut ranges = Vec::new();
    for (i, spec) in specs.split(',').enumerate() {
        if i >= MAX_RANGES {
            return Ranges::Full;
        }
        match spec_range(spec.trim(), len) {
            Some(Some(range)) => ranges.push(range),
            Some(None) => {}
            None => return Ranges::Full,
        }
    }
    if ranges.is_empty() {
        return Ranges::Unsatisfiable;
    }
    Ranges::Partial(coalesce(ranges))
}

/// `None` for a malformed spec, `Some(None)` for one outside the content.
fn spec_range(spec: &str, len: u64) -> Option<Option<Range<u64>>> {
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // An absurdly large position is still a position past the end.
        Some(s.parse().unwrap_or(u64::MAX))
    };
    if first.is_empty() {
        let suffix = number(last)?;
        return Some((suffix > 0 && len > 0).then(|| len.saturating_sub(suffix)..len));
    }
    let start = number(first)?;
    let end = if last.is_empty() {
        u64::MAX
    } else {
        let end = number(last)?;
        if end < start {
            return None;
        }
        end
    };
    Some((start < len).then(|| start..end.saturating_add(1).min(len)))
}

/// Sorts ranges and merges those that overlap or touch.
fn coalesce(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(range: Range<u64>) -> Ranges {
        Ranges::Partial(Vec::from([range]))
    }

    #[test]
    fn ranges_are_resolved() {
        assert_eq!(parse("bytes=0-9", 100), one(0..10));
        assert_eq!(parse("bytes=90-", 100), one(90..100));
        assert_eq!(parse("bytes=-10", 100), one(90..100));
        assert_eq!(parse("bytes=-500", 100), one(0..100));
        assert_eq!(parse("bytes=95-200", 100), one(95..100));
        assert_eq!(
            parse("bytes=0-1, 10-19", 100),
            Ranges::Partial(vec![0..2, 10..20])
        );
        assert_eq!(
            parse("bytes=10-19,0-1,15-30", 100),
            Ranges::Partial(vec![0..2, 10..31])
        );
        assert_eq!(parse("bytes=0-4,5-9", 100), one(0..10));
        assert_eq!(parse("bytes=0-1,200-300", 100), one(0..2));
    }

    #[test]
    fn unsatisfiable_and_malformed_ranges() {
        assert_eq!(parse("bytes=100-", 100), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 100), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=0-0", 0), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=-5", 0), Ranges::Unsatisfiable);
        assert_eq!(
            parse("bytes=99999999999999999999999-", 100),
            Ranges::Unsatisfiable
        );
        assert_eq!(parse("bytes=5-1", 100), Ranges::Full);
        assert_eq!(parse("bytes=a-b", 100), Ranges::Full);
        assert_eq!(parse("bytes=", 100), Ranges::Full);
        assert_eq!(parse("items=0-1", 100), Ranges::Full);
        assert_eq!(parse("bytes 0-1", 100), Ranges::Full);
        let many = format!("bytes={}", vec!["0-0"; MAX_RANGES + 1].join(","));
        assert_eq!(parse(&many, 100), Ranges::Full);
    }
}
