//! Signed download links: a keyed BLAKE3 MAC over the file id and an expiry,
//! naming the key that signed it. Links verify only under a key still in the
//! configuration, so removing a key (rotating) revokes every link it signed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Error, File, FileStore, Result};

/// The shortest accepted secret, in bytes.
pub const MIN_SECRET_LEN: usize = 32;
/// Domain separation for deriving MAC keys from configured secrets.
const KEY_CONTEXT: &str = "plinth-file-store 2026 signed download link v1";

/// Signing keys: secrets by key id, and which one signs new links.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SigningConfig {
    /// The key id that signs new links; signing is disabled when absent.
    pub current: Option<String>,
    /// Secrets (at least 32 bytes) by key id. A link verifies only while its key is here.
    pub keys: BTreeMap<String, String>,
    /// Longest lifetime of a link, in seconds (default 7 days).
    pub max_ttl_secs: Option<u64>,
}

impl std::fmt::Debug for SigningConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningConfig")
            .field("current", &self.current)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("max_ttl_secs", &self.max_ttl_secs)
            .finish()
    }
}

/// The default longest lifetime of a link.
pub const DEFAULT_MAX_TTL: time::Duration = time::Duration::days(7);

/// A link's signature and what it covers, as carried in its query string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSignature {
    /// Expiry as Unix seconds.
    pub expires: i64,
    /// Id of the signing key.
    pub key: String,
    /// Hex MAC.
    pub sig: String,
}

impl LinkSignature {
    /// The expiry as a timestamp.
    pub fn expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.expires).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// `expires=…&key=…&sig=…`, to append to the download path.
    pub fn query(&self) -> String {
        format!("expires={}&key={}&sig={}", self.expires, self.key, self.sig)
    }
}

/// Signs and verifies links with the configured keys.
#[derive(Clone)]
pub struct Signer {
    current: Option<String>,
    keys: BTreeMap<String, [u8; 32]>,
    max_ttl: time::Duration,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("current", &self.current)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Signer {
    /// Checks `config` (key ids, secret lengths, the current key is present) and derives the keys.
    pub fn new(config: &SigningConfig) -> Result<Self> {
        let mut keys = BTreeMap::new();
        for (id, secret) in &config.keys {
            let id_ok = !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
            if !id_ok {
                return Err(Error::Config(format!(
                    "signing key id `{id}` must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'"
                )));
            }
            if secret.len() < MIN_SECRET_LEN {
                return Err(Error::Config(format!(
                    "signing key `{id}` is shorter than {MIN_SECRET_LEN} bytes"
                )));
            }
            keys.insert(id.clone(), blake3::derive_key(KEY_CONTEXT, secret.as_bytes()));
        }
        if let Some(current) = &config.current
            && !keys.contains_key(current)
        {
            return Err(Error::Config(format!(
                "current signing key `{current}` is not among the keys"
            )));
        }
        let max_ttl = config.max_ttl_secs.map_or(DEFAULT_MAX_TTL, |s| {
            time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))
        });
        Ok(Self {
            current: config.current.clone(),
            keys,
            max_ttl,
        })
    }

    /// The longest lifetime a link may have.
    pub fn max_ttl(&self) -> time::Duration {
        self.max_ttl
    }

    /// Signs a link to `file` valid until `expires_at`, with the current key.
    pub fn sign(&self, file: Uuid, expires_at: OffsetDateTime) -> Result<LinkSignature> {
        let key_id = self
            .current
            .as_ref()
            .ok_or_else(|| Error::Config("no signing key is configured".into()))?;
        let key = self
            .keys
            .get(key_id)
            .ok_or_else(|| Error::Config(format!("signing key `{key_id}` is missing")))?;
        let expires = expires_at.unix_timestamp();
        Ok(LinkSignature {
            expires,
            key: key_id.clone(),
            sig: mac(key, file, expires).to_hex().to_string(),
        })
    }

    /// Accepts `link` for `file` at `now`: a known key, a matching MAC
    /// (compared in constant time) and an expiry still ahead.
    pub fn verify(&self, file: Uuid, link: &LinkSignature, now: OffsetDateTime) -> Result<()> {
        let key = self
            .keys
            .get(&link.key)
            .ok_or_else(|| Error::BadLink("the signing key is no longer valid".into()))?;
        let given =
            blake3::Hash::from_hex(&link.sig).map_err(|_| Error::BadLink("malformed signature".into()))?;
        // `blake3::Hash` equality is constant-time.
        if given != mac(key, file, link.expires) {
            return Err(Error::BadLink("signature mismatch".into()));
        }
        if link.expires <= now.unix_timestamp() {
            return Err(Error::BadLink("the link has expired".into()));
        }
        Ok(())
    }
}

impl FileStore {
    /// Signs a download link to file `id` valid for `ttl` (at most the
    /// configured maximum), or until the latest time there is when that lies
    /// beyond it.
    pub async fn sign_link(&self, id: Uuid, ttl: time::Duration) -> Result<LinkSignature> {
        if ttl <= time::Duration::ZERO || ttl > self.signer.max_ttl() {
            return Err(Error::Invalid(format!(
                "a link must live between 1 and {} seconds",
                self.signer.max_ttl().whole_seconds()
            )));
        }
        let file = self.get(id).await?;
        self.signer
            .sign(file.id, OffsetDateTime::now_utc().saturating_add(ttl))
    }

    /// The file a signed link points at, if the link is valid now.
    pub async fn open_link(&self, id: Uuid, link: &LinkSignature) -> Result<File> {
        self.signer.verify(id, link, OffsetDateTime::now_utc())?;
        self.get(id).await
    }
}

fn mac(key: &[u8; 32], file: Uuid, expires: i64) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(file.as_bytes());
    hasher.update(&expires.to_be_bytes());
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(current: &str, keys: &[&str]) -> SigningConfig {
        SigningConfig {
            current: Some(current.into()),
            keys: keys
                .iter()
                .map(|k| ((*k).to_owned(), format!("{k}-secret-{}", "x".repeat(32))))
                .collect(),
            max_ttl_secs: None,
        }
    }

    #[test]
    fn links_verify_until_expiry_and_key_removal() {
        let now = OffsetDateTime::now_utc();
        let file = Uuid::now_v7();
        let signer = Signer::new(&config("k1", &["k1"])).expect("signer");
        let link = signer.sign(file, now + time::Duration::minutes(5)).expect("sign");
        assert!(signer.verify(file, &link, now).is_ok());
        assert!(signer.verify(Uuid::now_v7(), &link, now).is_err(), "another file");
        assert!(
            signer
                .verify(file, &link, now + time::Duration::minutes(6))
                .is_err(),
            "expired"
        );
        let tampered = LinkSignature {
            expires: link.expires + 3600,
            ..link.clone()
        };
        assert!(signer.verify(file, &tampered, now).is_err(), "expiry is signed");

        let rotated = Signer::new(&config("k2", &["k1", "k2"])).expect("signer");
        assert!(rotated.verify(file, &link, now).is_ok(), "old key still listed");
        let retired = Signer::new(&config("k2", &["k2"])).expect("signer");
        assert!(retired.verify(file, &link, now).is_err(), "old key removed");
    }

    #[test]
    fn bad_configs_are_refused() {
        assert!(Signer::new(&config("k9", &["k1"])).is_err());
        let short = SigningConfig {
            current: None,
            keys: [("k".to_owned(), "short".to_owned())].into(),
            max_ttl_secs: None,
        };
        assert!(Signer::new(&short).is_err());
        let unsigned = Signer::new(&SigningConfig::default()).expect("empty");
        assert!(unsigned.sign(Uuid::now_v7(), OffsetDateTime::now_utc()).is_err());
    }
}
