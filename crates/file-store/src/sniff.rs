//! Content types from the bytes themselves, never from a name or a header.

use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::Error;

/// Bytes examined to recognise a type.
pub const SNIFF_LEN: usize = 8 * 1024;
/// The type of content nothing more specific fits.
pub const OCTET_STREAM: &str = "application/octet-stream";
/// The type of UTF-8 text without a recognised format.
pub const TEXT: &str = "text/plain; charset=utf-8";

/// The content type of data starting with `prefix`; `complete` says the
/// prefix is all of it. Known signatures win; text that is valid UTF-8
/// without NUL bytes is `text/plain`; empty or other data is octet-stream.
pub fn sniff(prefix: &[u8], complete: bool) -> String {
    if let Some(kind) = infer::get(prefix) {
        return kind.mime_type().to_owned();
    }
    if prefix.is_empty() || prefix.contains(&0) {
        return OCTET_STREAM.to_owned();
    }
    let text = match std::str::from_utf8(prefix) {
        Ok(_) => true,
        // A character cut by the end of the prefix is still text.
        Err(e) => !complete && e.error_len().is_none(),
    };
    if text { TEXT } else { OCTET_STREAM }.to_owned()
}

/// The first bytes of a body, read ahead to sniff its type.
#[derive(Debug, Default)]
pub(crate) struct Peeked {
    /// The chunks read, in order.
    pub chunks: Vec<Bytes>,
    /// Whether the body ended within them.
    pub complete: bool,
    /// The error that broke the body off after the chunks, if one did.
    pub broken: Option<Error>,
}

impl Peeked {
    /// Reads from `body` until [`SNIFF_LEN`] bytes, its end or an error.
    pub async fn read<S>(body: &mut Pin<&mut S>) -> Self
    where
        S: Stream<Item = Result<Bytes, Error>> + ?Sized,
    {
        let mut peeked = Self::default();
        let mut len = 0;
        while len < SNIFF_LEN {
            match body.next().await {
                Some(Ok(chunk)) => {
                    len += chunk.len();
                    peeked.chunks.push(chunk);
                }
                Some(Err(e)) => {
                    peeked.broken = Some(e);
                    break;
                }
                None => {
                    peeked.complete = true;
                    break;
                }
            }
        }
        peeked
    }

    /// Bytes read.
    pub fn len(&self) -> u64 {
        self.chunks.iter().map(|c| c.len() as u64).sum()
    }

    /// The sniffed content type; `whole` says the chunks are all of the content.
    pub fn content_type(&self, whole: bool) -> String {
        let mut prefix = Vec::with_capacity(SNIFF_LEN);
        for chunk in &self.chunks {
            let take = (SNIFF_LEN - prefix.len()).min(chunk.len());
            prefix.extend_from_slice(&chunk[..take]);
        }
        sniff(&prefix, whole && self.len() <= SNIFF_LEN as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", true), "image/png");
        assert_eq!(sniff(b"%PDF-1.7\n", true), "application/pdf");
        assert_eq!(sniff("héllo".as_bytes(), true), TEXT);
        assert_eq!(sniff(&"é".as_bytes()[..1], false), TEXT, "cut character");
        assert_eq!(sniff(&"é".as_bytes()[..1], true), OCTET_STREAM);
        assert_eq!(sniff(b"a\0b", true), OCTET_STREAM);
        assert_eq!(sniff(b"", true), OCTET_STREAM);
    }
}
