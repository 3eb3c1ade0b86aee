//! Opaque bearer secrets shared by every crate that issues tokens: 256 random
//! bits from the operating system, hex encoded behind a recognisable prefix
//! (so leaked tokens can be found by secret scanners), stored only as their
//! BLAKE3 hash and looked up by it.

use subtle::ConstantTimeEq;

/// Random bytes in a token.
const SECRET_BYTES: usize = 32;

/// Length of a token's hex-encoded secret.
pub const SECRET_HEX_LEN: usize = SECRET_BYTES * 2;

/// A freshly generated token: the plaintext for the client and the hash to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The token as handed to the client, once.
    pub plaintext: String,
    /// Its hash, the only form that is stored.
    pub hash: String,
}

/// The operating system's random source failed.
#[derive(Debug, thiserror::Error)]
#[error("random source unavailable: {0}")]
pub struct RandomError(getrandom::Error);

/// Fills `buf` from the operating system's random source.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::fill(buf).map_err(RandomError)
}

/// A new random token starting with `prefix` (e.g. `plat_`).
pub fn generate(prefix: &str) -> Result<Generated, RandomError> {
    let mut secret = [0u8; SECRET_BYTES];
    random_bytes(&mut secret)?;
    let mut plaintext = String::with_capacity(prefix.len() + SECRET_HEX_LEN);
    plaintext.push_str(prefix);
    for byte in secret {
        plaintext.push(hex_digit(byte >> 4));
        plaintext.push(hex_digit(byte & 0x0f));
    }
    let hash = hash(&plaintext);
    Ok(Generated { plaintext, hash })
}

/// The stored hash of `token` if it is well-formed: `prefix` followed by
/// exactly 64 lower-case hex digits. `None` for anything else, so malformed
/// input never reaches the database.
pub fn parse(token: &str, prefix: &str) -> Option<String> {
    let secret = token.strip_prefix(prefix)?;
    let well_formed =
        secret.len() == SECRET_HEX_LEN && secret.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    well_formed.then(|| hash(token))
}

/// Whether two secrets (or hashes) are equal, compared in constant time.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// BLAKE3 of the whole token (prefix included), hex encoded.
pub fn hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// `query` (the part of a URL after `?`) with the values of the parameters
/// named in `names` shown as `***`, for messages and logs.
pub fn hide_query_values(query: &str, names: &[&str]) -> String {
    query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((name, _)) if names.contains(&name) => format!("{name}=***"),
            _ => param.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_query_values_are_hidden() {
        assert_eq!(hide_query_values("b=1&c", &["sig"]), "b=1&c");
        assert_eq!(
            hide_query_values("expires=1&sig=abc&x=sig&password", &["sig", "password"]),
            "expires=1&sig=***&x=sig&password"
        );
    }

    #[test]
    fn generated_tokens_parse_back_to_their_hash() {
        let token = generate("plat_").expect("random source");
        assert!(token.plaintext.starts_with("plat_"));
        assert_eq!(token.plaintext.len(), 5 + SECRET_HEX_LEN);
        assert_eq!(parse(&token.plaintext, "plat_"), Some(token.hash.clone()));
        assert!(ct_eq(&token.hash, &hash(&token.plaintext)));
        assert_ne!(generate("plat_").expect("random").plaintext, token.plaintext);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let token = generate("plat_").expect("random source").plaintext;
        assert_eq!(parse(&token, "plsa_"), None);
        assert_eq!(parse(&token[..token.len() - 1], "plat_"), None);
        assert_eq!(parse(&token.to_uppercase(), "plat_"), None);
        assert_eq!(parse("plat_", "plat_"), None);
        assert_eq!(parse("", "plat_"), None);
    }
}
