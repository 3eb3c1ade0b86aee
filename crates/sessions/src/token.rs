//! Opaque bearer tokens: 256 random bits from the operating system, hex
//! encoded behind a recognisable prefix (`plsa_` for access tokens, `plsr_`
//! for refresh tokens) so leaked tokens can be found by secret scanners.
//! Only the BLAKE3 hash of a token is stored.

use crate::{Error, Result};

/// Which of the two tokens of a pair a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Short-lived, presented on every request.
    Access,
    /// Long-lived, presented only to obtain a new pair.
    Refresh,
}

impl TokenKind {
    /// The prefix every token of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Access => "plsa_",
            Self::Refresh => "plsr_",
        }
    }

    /// The value stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

pub(crate) use plinth_db::secret::{Generated, ct_eq as hashes_match};

/// A new random token of `kind`.
pub(crate) fn generate(kind: TokenKind) -> Result<Generated> {
    plinth_db::secret::generate(kind.prefix()).map_err(Error::Random)
}

/// The stored hash of `token` after checking it is well-formed for `kind`:
/// the right prefix followed by exactly 64 lower-case hex digits. Anything
/// else is [`Error::InvalidToken`] without touching the database.
pub(crate) fn parse(token: &str, kind: TokenKind) -> Result<String> {
    plinth_db::secret::parse(token, kind.prefix()).ok_or(Error::InvalidToken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_back_to_their_hash() {
        for kind in [TokenKind::Access, TokenKind::Refresh] {
            let token = generate(kind).expect("random source");
            assert!(token.plaintext.starts_with(kind.prefix()));
            assert_eq!(token.plaintext.len(), kind.prefix().len() + 64);
            assert_eq!(parse(&token.plaintext, kind).ok(), Some(token.hash.clone()));
            assert!(hashes_match(&token.hash, &token.hash));
            assert!(!token.hash.contains(&token.plaintext[5..]));
        }
    }

    #[test]
    fn tokens_differ() {
        let a = generate(TokenKind::Access).expect("random source");
        let b = generate(TokenKind::Access).expect("random source");
        assert_ne!(a.plaintext, b.plaintext);
    }

    #[test]
    fn malformed_tokens_are_invalid() {
        let good = generate(TokenKind::Access).expect("random source").plaintext;
        let refresh = generate(TokenKind::Refresh).expect("random source").plaintext;
        let upper = format!("plsa_{}", good[5..].to_uppercase());
        let long = format!("{good}0");
        let multibyte = format!("plsa_{}é", &good[5..67]);
        for bad in [
            "",
            "plsa_",
            "garbage",
            &good[..good.len() - 1],
            &long,
            &upper,
            &refresh,
            &multibyte,
            "plsa_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        ] {
            assert!(
                matches!(parse(bad, TokenKind::Access), Err(Error::InvalidToken)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn different_hashes_do_not_match() {
        assert!(!hashes_match("abc", "abd"));
        assert!(!hashes_match("abc", "abcd"));
    }
}
