//! TOTP second factor (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one
//! step of clock skew either way) and single-use recovery codes.
//!
//! Enrolment stores a new secret encrypted (XChaCha20-Poly1305 under the
//! configured key, bound to the user id) but not enabled; a correct code
//! enables it and yields ten recovery codes, stored only as BLAKE3 hashes.
//! A TOTP code is accepted at most once: its time step must be later than
//! the last accepted one. Every check first takes a write lock on the
//! credential row, so concurrent uses of one recovery code cannot both pass.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use plinth_events::{Context, NewEvent, record};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Set};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::json;
use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Totp};
use uuid::Uuid;

use crate::entity::credential;
use crate::migration_orgs::MFA_LAST_STEP;
use crate::users::find_user;
use crate::{Auth, Error, Result};

/// Recovery codes issued at once.
pub const RECOVERY_CODES: usize = 10;
/// Characters of randomness in a recovery code (5 bits each).
const RECOVERY_LEN: usize = 10;
/// Bytes of a TOTP secret (160 bits, as RFC 4226 recommends).
const SECRET_BYTES: usize = 20;
/// Bytes of an XChaCha20 nonce.
const NONCE_BYTES: usize = 24;
/// The refusal of a wrong or already used code.
const WRONG_CODE: &str = "invalid MFA code";

/// The 32-byte key that encrypts TOTP secrets at rest, configured as base64.
/// Its `Debug` output does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaKey([u8; 32]);

impl MfaKey {
    /// Decodes a key from standard base64 of exactly 32 bytes.
    pub fn from_base64(encoded: &str) -> Result<Self> {
        STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(Self)
            .ok_or_else(|| Error::Invalid("the MFA key must be 32 bytes, base64-encoded".into()))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }
}

impl fmt::Debug for MfaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MfaKey(..)")
    }
}

impl Serialize for MfaKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for MfaKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let encoded = String::deserialize(deserializer)?;
        Self::from_base64(&encoded).map_err(serde::de::Error::custom)
    }
}

/// Settings of the second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaConfig {
    /// Key encrypting TOTP secrets; without one, enrolment is refused.
    pub key: Option<MfaKey>,
    /// Issuer shown in authenticator apps (no `:`).
    pub issuer: String,
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            key: None,
            issuer: "Plinth".into(),
        }
    }
}

/// A started enrolment: the secret to put into an authenticator app, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MfaEnrollment {
    /// The secret, base32 without padding.
    pub secret: String,
    /// The `otpauth://totp/…` URI (for a QR code).
    pub otpauth_uri: String,
}

/// Where a user's second factor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MfaStatus {
    /// A code is required at sign-in.
    pub enabled: bool,
    /// An enrolment was begun and awaits its confirming code.
    pub enrollment_pending: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: usize,
}

/// The TOTP parameters of RFC 6238 as Plinth uses them, for `secret`.
fn rfc6238(secret: Vec<u8>) -> Builder {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
}

fn build(builder: Builder) -> Result<Totp> {
    builder.build().map_err(|e| Error::Internal(format!("TOTP: {e}")))
}

fn random(buf: &mut [u8]) -> Result<()> {
    plinth_db::secret::random_bytes(buf).map_err(|e| Error::Internal(e.to_string()))
}

/// base64 of nonce ‖ ciphertext of `secret`, authenticated with the user id.
fn encrypt(key: &MfaKey, user_id: Uuid, secret: &[u8]) -> Result<String> {
    let mut nonce = [0u8; NONCE_BYTES];
    random(&mut nonce)?;
    let payload = Payload {
        msg: secret,
        aad: user_id.as_bytes(),
    };
    let sealed = key
        .cipher()
        .encrypt(&XNonce::from(nonce), payload)
        .map_err(|e| Error::Internal(format!("encrypting the MFA secret: {e}")))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(STANDARD.encode(out))
}

/// The secret sealed by [`encrypt`] for `user_id`.
fn decrypt(key: &MfaKey, user_id: Uuid, stored: &str) -> Result<Vec<u8>> {
    let unreadable =
        || Error::Internal("the stored MFA secret cannot be decrypted (was the MFA key changed?)".into());
    let raw = STANDARD.decode(stored).map_err(|_| unreadable())?;
    if raw.len() <= NONCE_BYTES {
        return Err(unreadable());
    }
    let (nonce, sealed) = raw.split_at(NONCE_BYTES);
    let nonce = XNonce::try_from(nonce).map_err(|_| unreadable())?;
    key.cipher()
        .decrypt(
            &nonce,
            Payload {
                msg: sealed,
                aad: user_id.as_bytes(),
            },
        )
        .map_err(|_| unreadable())
}

/// A code as typed, without spaces or dashes, lower-cased.
fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// New recovery codes as shown (`xxxxx-xxxxx`) and their hashes as stored.
fn new_recovery_codes() -> Result<(Vec<String>, Vec<String>)> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut bytes = [0u8; RECOVERY_LEN];
        random(&mut bytes)?;
        let code: String = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
            .collect();
        hashes.push(plinth_db::secret::hash(&code));
        shown.push(format!(
            "{}-{}",
            &code[..RECOVERY_LEN / 2],
            &code[RECOVERY_LEN / 2..]
        ));
    }
    Ok((shown, hashes))
}

fn unix_now() -> u64 {
    u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

/// Takes the write lock on the user's credential row and returns it as it is now.
async fn lock_credential(conn: &impl ConnectionTrait, user_id: Uuid) -> Result<credential::Model> {
    let touch = Query::update()
        .table(credential::Entity)
        .value(
            credential::Column::MfaEnabled,
            Expr::col(credential::Column::MfaEnabled),
        )
        .and_where(Expr::col(credential::Column::UserId).eq(user_id))
        .to_owned();
    if conn.execute(&touch).await?.rows_affected() == 0 {
        return Err(Error::NotFound(format!("user {user_id}")));
    }
    credential::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("user {user_id}")))
}

/// Records `step` as the last accepted TOTP step unless it is not later than
/// the one recorded; `false` means the code was already used.
async fn take_step(conn: &impl ConnectionTrait, user_id: Uuid, step: u64) -> Result<bool> {
    let step = i64::try_from(step).map_err(|_| Error::Internal("TOTP step out of range".into()))?;
    let update = Query::update()
        .table(credential::Entity)
        .value(MFA_LAST_STEP, step)
        .and_where(Expr::col(credential::Column::UserId).eq(user_id))
        .and_where(
            Expr::col(MFA_LAST_STEP)
                .is_null()
                .or(Expr::col(MFA_LAST_STEP).lt(step)),
        )
        .to_owned();
    Ok(conn.execute(&update).await?.rows_affected() == 1)
}

/// Disables the second factor of `user_id` and stores `secret` (a new
/// enrolment) or nothing, with no recovery codes and no used step.
async fn reset(conn: &impl ConnectionTrait, user_id: Uuid, secret: Option<String>) -> Result<()> {
    let update = Query::update()
        .table(credential::Entity)
        .value(credential::Column::MfaEnabled, false)
        .value(credential::Column::MfaSecretEncrypted, secret)
        .value(credential::Column::MfaRecoveryCodesHash, json!([]))
        .value(MFA_LAST_STEP, Option::<i64>::None)
        .and_where(Expr::col(credential::Column::UserId).eq(user_id))
        .to_owned();
    conn.execute(&update).await?;
    Ok(())
}

fn recovery_hashes(cred: &credential::Model) -> Vec<String> {
    serde_json::from_value(cred.mfa_recovery_codes_hash.clone()).unwrap_or_default()
}

impl Auth {
    /// Begins TOTP enrolment for `user_id`: a new secret, stored encrypted and
    /// not yet enabled (replacing an unfinished enrolment). `Conflict` when no
    /// MFA key is configured or MFA is already enabled.
    pub async fn begin_mfa_enrollment(&self, ctx: &Context, user_id: Uuid) -> Result<MfaEnrollment> {
        let key = self.config.mfa.key.as_ref().ok_or_else(|| {
            Error::Conflict("MFA is unavailable: no MFA key is configured (`mfa.key`)".into())
        })?;
        let mut secret = [0u8; SECRET_BYTES];
        random(&mut secret)?;
        let txn = plinth_db::begin_write(&self.db).await?;
        let cred = lock_credential(&txn, user_id).await?;
        let user = find_user(&txn, user_id).await?;
        if cred.mfa_enabled {
            return Err(Error::Conflict("MFA is already enabled; disable it first".into()));
        }
        let totp = build(
            rfc6238(secret.to_vec())
                .with_issuer(Some(self.config.mfa.issuer.as_str()))
                .with_account_name(user.username.as_str()),
        )?;
        let otpauth_uri = totp
            .to_url()
            .map_err(|e| Error::Internal(format!("TOTP URI: {e}")))?;
        reset(&txn, user_id, Some(encrypt(key, user_id, &secret)?)).await?;
        record(
            &txn,
            ctx,
            NewEvent::new("user.mfa_enrollment_started", "user", user_id),
        )
        .await?;
        txn.commit().await?;
        Ok(MfaEnrollment {
            secret: totp.secret().to_base32(),
            otpauth_uri,
        })
    }

    /// Completes enrolment with a current code from the authenticator: MFA is
    /// enabled and the recovery codes are returned, shown this once.
    /// `Invalid` for a wrong code, `Conflict` when no enrolment is pending.
    pub async fn confirm_mfa_enrollment(
        &self,
        ctx: &Context,
        user_id: Uuid,
        code: &str,
    ) -> Result<Vec<String>> {
        let txn = plinth_db::begin_write(&self.db).await?;
        let cred = lock_credential(&txn, user_id).await?;
        if cred.mfa_enabled {
            return Err(Error::Conflict("MFA is already enabled".into()));
        }
        if cred.mfa_secret_encrypted.is_none() {
            return Err(Error::Conflict(
                "no MFA enrolment is pending; begin one first".into(),
            ));
        }
        let txn = self
            .consume(ctx, txn, &cred, code)
            .await?
            .ok_or_else(|| Error::Invalid(WRONG_CODE.into()))?;
        let (shown, hashes) = new_recovery_codes()?;
        let mut active: credential::ActiveModel = cred.into();
        active.mfa_enabled = Set(true);
        active.mfa_recovery_codes_hash = Set(json!(hashes));
        active.update(&txn).await?;
        record(&txn, ctx, NewEvent::new("user.mfa_enabled", "user", user_id)).await?;
        txn.commit().await?;
        Ok(shown)
    }

    /// Turns MFA off after checking a current TOTP or recovery code; the
    /// secret and recovery codes are erased. `Invalid` for a wrong code.
    pub async fn disable_mfa(&self, ctx: &Context, user_id: Uuid, code: &str) -> Result<()> {
        let (txn, _) = self.begin_verified(ctx, user_id, code).await?;
        reset(&txn, user_id, None).await?;
        record(&txn, ctx, NewEvent::new("user.mfa_disabled", "user", user_id)).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Replaces the recovery codes after checking a current TOTP or recovery
    /// code, and returns the new ones, shown this once.
    pub async fn regenerate_recovery_codes(
        &self,
        ctx: &Context,
        user_id: Uuid,
        code: &str,
    ) -> Result<Vec<String>> {
        let (txn, cred) = self.begin_verified(ctx, user_id, code).await?;
        let (shown, hashes) = new_recovery_codes()?;
        let mut active: credential::ActiveModel = cred.into();
        active.mfa_recovery_codes_hash = Set(json!(hashes));
        active.update(&txn).await?;
        record(
            &txn,
            ctx,
            NewEvent::new("user.mfa_recovery_codes_regenerated", "user", user_id),
        )
        .await?;
        txn.commit().await?;
        Ok(shown)
    }

    /// Whether `user_id` has MFA enabled or an enrolment pending, and how many recovery codes are left.
    pub async fn mfa_status(&self, user_id: Uuid) -> Result<MfaStatus> {
        let cred = credential::Entity::find_by_id(user_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {user_id}")))?;
        Ok(MfaStatus {
            enabled: cred.mfa_enabled,
            enrollment_pending: !cred.mfa_enabled && cred.mfa_secret_encrypted.is_some(),
            recovery_codes_left: recovery_hashes(&cred).len(),
        })
    }

    /// Whether the sign-in passed a second factor: `false` when the account
    /// has none; `Unauthenticated` when it has one and `code` is missing,
    /// wrong or already used. A recovery code is consumed; a wrong or used
    /// code counts as a failed sign-in towards the lockout.
    pub(crate) async fn check_second_factor(
        &self,
        ctx: &Context,
        cred: &credential::Model,
        code: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        if !cred.mfa_enabled {
            return Ok(false);
        }
        let code = code
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| Error::Unauthenticated("an MFA code is required".into()))?;
        let txn = plinth_db::begin_write(&self.db).await?;
        let cred = lock_credential(&txn, cred.user_id).await?;
        if !cred.mfa_enabled {
            return Ok(false);
        }
        let Some(txn) = self.consume(ctx, txn, &cred, code).await? else {
            self.record_failure(ctx, cred.user_id, now).await?;
            return Err(Error::Unauthenticated(WRONG_CODE.into()));
        };
        txn.commit().await?;
        Ok(true)
    }

    /// A transaction holding the lock on the credential of `user_id`, whose
    /// MFA is enabled and whose `code` was accepted and consumed in it.
    async fn begin_verified(
        &self,
        ctx: &Context,
        user_id: Uuid,
        code: &str,
    ) -> Result<(DatabaseTransaction, credential::Model)> {
        let txn = plinth_db::begin_write(&self.db).await?;
        let cred = lock_credential(&txn, user_id).await?;
        if !cred.mfa_enabled {
            return Err(Error::Conflict("MFA is not enabled".into()));
        }
        let txn = self
            .consume(ctx, txn, &cred, code)
            .await?
            .ok_or_else(|| Error::Invalid(WRONG_CODE.into()))?;
        Ok((txn, cred))
    }

    /// Consumes `code` in `txn` and hands the transaction back; when the code
    /// is not accepted, rolls back, records `user.mfa_failed` and returns `None`.
    async fn consume(
        &self,
        ctx: &Context,
        txn: DatabaseTransaction,
        cred: &credential::Model,
        code: &str,
    ) -> Result<Option<DatabaseTransaction>> {
        if self.consume_code(&txn, ctx, cred, code).await? {
            return Ok(Some(txn));
        }
        txn.rollback().await?;
        record(
            &self.db,
            ctx,
            NewEvent::new("user.mfa_failed", "user", cred.user_id),
        )
        .await?;
        Ok(None)
    }

    /// Accepts a current, unused TOTP code (recording its step) or an unused
    /// recovery code (removing it), on the locked credential `cred`.
    async fn consume_code(
        &self,
        conn: &impl ConnectionTrait,
        ctx: &Context,
        cred: &credential::Model,
        code: &str,
    ) -> Result<bool> {
        let code = normalize(code);
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            let Some(stored) = cred.mfa_secret_encrypted.as_deref() else {
                return Ok(false);
            };
            let key = self.config.mfa.key.as_ref().ok_or_else(|| {
                Error::Internal("MFA secrets are stored but no MFA key is configured (`mfa.key`)".into())
            })?;
            let totp = build(rfc6238(decrypt(key, cred.user_id, stored)?))?;
            return match totp.check(&code, unix_now()) {
                Some(step) => take_step(conn, cred.user_id, step).await,
                None => Ok(false),
            };
        }
        let mut hashes = recovery_hashes(cred);
        let hash = plinth_db::secret::hash(&code);
        let Some(used) = hashes.iter().position(|h| plinth_db::secret::ct_eq(h, &hash)) else {
            return Ok(false);
        };
        hashes.remove(used);
        let left = hashes.len();
        let mut active: credential::ActiveModel = cred.clone().into();
        active.mfa_recovery_codes_hash = Set(json!(hashes));
        active.update(conn).await?;
        record(
            conn,
            ctx,
            NewEvent::new("user.mfa_recovery_code_used", "user", cred.user_id)
                .payload(json!({ "left": left })),
        )
        .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_32_bytes_of_base64_and_not_printed() {
        let encoded = STANDARD.encode([7u8; 32]);
        let key = MfaKey::from_base64(&encoded).expect("key");
        assert_eq!(format!("{key:?}"), "MfaKey(..)");
        assert!(MfaKey::from_base64(&STANDARD.encode([7u8; 31])).is_err());
        assert!(MfaKey::from_base64("not base64!").is_err());
        let json = serde_json::to_string(&key).expect("serialise");
        assert_eq!(serde_json::from_str::<MfaKey>(&json).expect("deserialise"), key);
        assert!(serde_json::from_str::<MfaKey>("\"c2hvcnQ=\"").is_err());
    }

    #[test]
    fn secrets_are_sealed_to_the_key_and_the_user() {
        let key = MfaKey([1; 32]);
        let user = Uuid::now_v7();
        let sealed = encrypt(&key, user, b"twenty bytes secret!").expect("seal");
        assert_ne!(
            sealed,
            encrypt(&key, user, b"twenty bytes secret!").expect("seal"),
            "random nonce"
        );
        assert_eq!(
            decrypt(&key, user, &sealed).expect("open"),
            b"twenty bytes secret!"
        );
        assert!(decrypt(&MfaKey([2; 32]), user, &sealed).is_err(), "another key");
        assert!(
            decrypt(&key, Uuid::now_v7(), &sealed).is_err(),
            "another user's row"
        );
        assert!(decrypt(&key, user, "AAAA").is_err());
    }

    #[test]
    fn recovery_codes_are_distinct_and_hashed_without_the_dash() {
        let (shown, hashes) = new_recovery_codes().expect("codes");
        assert_eq!(shown.len(), RECOVERY_CODES);
        for (code, hash) in shown.iter().zip(&hashes) {
            assert_eq!(code.len(), RECOVERY_LEN + 1);
            assert_eq!(&plinth_db::secret::hash(&normalize(&code.to_uppercase())), hash);
        }
        let mut unique = shown.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
    }

    #[test]
    fn totp_matches_rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, truncated to 6 digits.
        let totp = build(rfc6238(b"12345678901234567890".to_vec())).expect("totp");
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(totp.generate(time).to_string(), code);
        }
        assert!(totp.check("287082", 59 + 30).is_some(), "one step of skew");
        assert!(totp.check("287082", 59 + 60).is_none());
    }
}
