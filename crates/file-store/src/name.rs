//! File names: cleaned before they are stored, and quoted safely in
//! `Content-Disposition` (RFC 6266, with an RFC 8187 `filename*`).

/// Longest stored name, in characters.
pub const MAX_CHARS: usize = 255;
/// The name of a file whose given name had nothing usable left.
pub const FALLBACK: &str = "unnamed";

/// The name to store for a user-supplied `raw` name: control characters
/// (NUL included) and path separators removed, whitespace trimmed, at most
/// [`MAX_CHARS`] characters; `.`, `..` or nothing become [`FALLBACK`].
/// Names are only ever metadata: no storage key is derived from them.
pub fn clean(raw: &str) -> String {
    let kept: String = raw
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\'))
        .take(MAX_CHARS)
        .collect();
    let trimmed = kept.trim();
    if matches!(trimmed, "" | "." | "..") {
        FALLBACK.to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// A `Content-Disposition` value of `disposition` (`attachment` or
/// `inline`) for `name`: an ASCII `filename` with quotes, backslashes,
/// separators and non-ASCII characters replaced, and the exact name
/// percent-encoded in `filename*`.
pub fn content_disposition(disposition: &str, name: &str) -> String {
    let name = clean(name);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && !matches!(c, '"' | '\\' | '/' | '%' | ';') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean("../../etc/passwd"), "....etcpasswd");
        assert_eq!(clean("a\0b\r\nc"), "abc");
        assert_eq!(clean("..\\..\\boot.ini"), "....boot.ini");
        assert_eq!(clean(" .. "), FALLBACK);
        assert_eq!(clean("\0"), FALLBACK);
        assert_eq!(clean(&"x".repeat(400)).chars().count(), MAX_CHARS);
        assert_eq!(clean("résumé.pdf"), "résumé.pdf");
    }

    #[test]
    fn dispositions_are_quoted_safely() {
        assert_eq!(
            content_disposition("attachment", "say \"hi\".txt"),
            "attachment; filename=\"say _hi_.txt\"; filename*=UTF-8''say%20%22hi%22.txt"
        );
        assert_eq!(
            content_disposition("inline", "résumé.pdf"),
            "inline; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
        );
        let header = content_disposition("attachment", "../../etc/passwd\0");
        assert_eq!(
            header,
            "attachment; filename=\"....etcpasswd\"; filename*=UTF-8''....etcpasswd"
        );
    }
}
