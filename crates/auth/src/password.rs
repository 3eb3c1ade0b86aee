//! Password hashing with argon2id, run off the async executor.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::PasswordConfig;
use crate::{Error, Result};

/// The algorithm name stored beside each hash.
pub const ALGORITHM: &str = "argon2id";

/// Hashes and verifies passwords with the configured parameters.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    policy: PasswordConfig,
    /// A hash of a random password, verified against for unknown accounts so
    /// they take as long as known ones.
    dummy: String,
    /// How many password verifications ran, real or dummy.
    verifications: Arc<AtomicU64>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// A hasher for `config`; computes the dummy hash once.
    pub async fn new(config: &PasswordConfig) -> Result<Self> {
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)
            .map_err(|e| Error::Invalid(format!("argon2 parameters: {e}")))?;
        let mut random = [0u8; 24];
        plinth_db::secret::random_bytes(&mut random).map_err(|e| Error::Internal(e.to_string()))?;
        let mut hasher = Self {
            params,
            policy: config.clone(),
            dummy: String::new(),
            verifications: Arc::new(AtomicU64::new(0)),
        };
        hasher.dummy = hasher.hash_unchecked(hex(&random)).await?;
        Ok(hasher)
    }

    /// How many argon2 verifications (real or dummy) this hasher has run.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Checks length limits: at least `min_length` characters, at most `max_length` bytes.
    pub fn check_policy(&self, password: &str) -> Result<()> {
        if password.len() > self.policy.max_length {
            return Err(Error::Invalid(format!(
                "password is longer than {} bytes",
                self.policy.max_length
            )));
        }
        if password.chars().count() < self.policy.min_length {
            return Err(Error::Invalid(format!(
                "password must have at least {} characters",
                self.policy.min_length
            )));
        }
        Ok(())
    }

    /// The PHC string of `password` after checking the policy.
    pub async fn hash(&self, password: &str) -> Result<String> {
        self.check_policy(password)?;
        self.hash_unchecked(password.to_owned()).await
    }

    async fn hash_unchecked(&self, password: String) -> Result<String> {
        let params = self.params.clone();
        let mut salt = [0u8; 16];
        plinth_db::secret::random_bytes(&mut salt).map_err(|e| Error::Internal(e.to_string()))?;
        blocking(move || {
            let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| e.to_string())
        })
        .await
    }

    /// Whether `password` matches `phc`, and whether the hash should be
    /// recomputed because the parameters changed. Passwords over the length
    /// limit never match and are not hashed.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<Verified> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        if password.len() > self.policy.max_length {
            // Spend the same time as a real check, on a bounded input.
            self.verifications.fetch_sub(1, Ordering::Relaxed);
            self.verify_dummy().await?;
            return Ok(Verified::default());
        }
        let (password, phc, params) = (password.to_owned(), phc.to_owned(), self.params.clone());
        blocking(move || {
            let parsed = PasswordHash::new(&phc).map_err(|e| e.to_string())?;
            let ok = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            let current = parsed.algorithm.as_str() == ALGORITHM
                && Params::try_from(&parsed).is_ok_and(|p| {
                    p.m_cost() == params.m_cost()
                        && p.t_cost() == params.t_cost()
                        && p.p_cost() == params.p_cost()
                });
            Ok(Verified {
                ok,
                needs_rehash: ok && !current,
            })
        })
        .await
    }

    /// Verifies a random password against the dummy hash: the unknown-account path.
    pub async fn verify_dummy(&self) -> Result<()> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let dummy = self.dummy.clone();
        blocking(move || {
            let parsed = PasswordHash::new(&dummy).map_err(|e| e.to_string())?;
            let _ = Argon2::default().verify_password(b"not the password", &parsed);
            Ok(())
        })
        .await
    }
}

/// The outcome of [`Hasher::verify`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verified {
    /// The password matches.
    pub ok: bool,
    /// It matches but was hashed with other parameters: store a new hash.
    pub needs_rehash: bool,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, String> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))?
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
