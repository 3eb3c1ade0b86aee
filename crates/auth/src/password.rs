//! Password hashing with argon2id, run off the async executor.
//!
//! Hashing is deliberately expensive: each hash fills `memory_kib` of memory
//! and keeps a core busy for tens of milliseconds. So that a burst of
//! sign-ins neither starves the requests that are already authenticated nor
//! balloons the process's memory, hashes run on a [`HashPool`]: at most
//! [`PasswordConfig::effective_hash_concurrency`] at once, at a lower
//! scheduling priority (`hash_nice`), each in a memory buffer reused from one
//! hash to the next.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::config::PasswordConfig;
use crate::hash_pool::HashPool;
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
    /// Where hashes run.
    workers: HashPool,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("params", &self.params)
            .field("concurrency", &self.workers.concurrency())
            .finish_non_exhaustive()
    }
}

/// Most memory one hash may take, in KiB (4 GiB): beyond it, allocating the
/// buffer would abort the process instead of failing.
pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;

impl Hasher {
    /// A hasher for `config`; computes the dummy hash once. Parameters argon2
    /// refuses, or memory above [`MAX_MEMORY_KIB`], are [`Error::Invalid`].
    pub async fn new(config: &PasswordConfig) -> Result<Self> {
        if config.memory_kib > MAX_MEMORY_KIB {
            return Err(Error::Invalid(format!(
                "password.memory_kib {} is more than {MAX_MEMORY_KIB} KiB",
                config.memory_kib
            )));
        }
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)
            .map_err(|e| Error::Invalid(format!("argon2 parameters: {e}")))?;
        let mut random = [0u8; 24];
        plinth_db::secret::random_bytes(&mut random).map_err(|e| Error::Internal(e.to_string()))?;
        let mut hasher = Self {
            params,
            policy: config.clone(),
            dummy: String::new(),
            verifications: Arc::new(AtomicU64::new(0)),
            workers: HashPool::new(config.effective_hash_concurrency(), config.hash_nice)?,
        };
        hasher.dummy = hasher.hash_unchecked(hex(&random)).await?;
        Ok(hasher)
    }

    /// How many argon2 verifications (real or dummy) this hasher has run.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// How many hashes may run at once.
    pub fn concurrency(&self) -> usize {
        self.workers.concurrency()
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
        self.workers
            .run(move |memory| {
                let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
                let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                let output = compute(&argon2, password.as_bytes(), salt.as_salt(), memory)?;
                let phc = PasswordHash {
                    algorithm: Algorithm::Argon2id.ident(),
                    version: Some(Version::V0x13.into()),
                    params: ParamsString::try_from(argon2.params()).map_err(|e| e.to_string())?,
                    salt: Some(salt.as_salt()),
                    hash: Some(output),
                };
                Ok(phc.to_string())
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
        self.workers
            .run(move |memory| {
                let parsed = PasswordHash::new(&phc).map_err(|e| e.to_string())?;
                let ok = matches(&parsed, password.as_bytes(), memory)?;
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
        self.workers
            .run(move |memory| {
                let parsed = PasswordHash::new(&dummy).map_err(|e| e.to_string())?;
                matches(&parsed, b"not the password", memory)?;
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

/// The argon2 output for `password` and `salt`, computed in `memory` (grown
/// to the size the parameters need) instead of a fresh allocation; the same
/// as `argon2`'s `PasswordHasher::hash_password` computes.
fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: Salt<'_>,
    memory: &mut Vec<Block>,
) -> std::result::Result<Output, String> {
    let mut buf = [0u8; Salt::MAX_LENGTH];
    let salt = salt.decode_b64(&mut buf).map_err(|e| e.to_string())?;
    let params = argon2.params();
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    Output::init_with(len, |out| {
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut memory[..])
            .map_err(Into::into)
    })
    .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC hash `hash` (in constant time), with
/// the algorithm, version and parameters the hash names.
fn matches(
    hash: &PasswordHash<'_>,
    password: &[u8],
    memory: &mut Vec<Block>,
) -> std::result::Result<bool, String> {
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(hash.algorithm).map_err(|e| e.to_string())?;
    let version = hash
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let params = Params::try_from(hash).map_err(|e| e.to_string())?;
    let computed = compute(&Argon2::new(algorithm, version, params), password, salt, memory)?;
    // `Output` compares in constant time.
    Ok(computed == expected)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    fn small() -> PasswordConfig {
        PasswordConfig {
            memory_kib: 1024,
            iterations: 1,
            hash_concurrency: 2,
            ..PasswordConfig::default()
        }
    }

    #[tokio::test]
    async fn absurd_memory_is_refused_before_anything_is_allocated() {
        let config = PasswordConfig {
            memory_kib: u32::MAX,
            ..small()
        };
        let err = Hasher::new(&config).await.expect_err("refused");
        assert!(
            matches!(&err, Error::Invalid(m) if m.contains("memory_kib")),
            "{err:?}"
        );
        let config = PasswordConfig {
            memory_kib: 4,
            ..small()
        };
        assert!(
            matches!(Hasher::new(&config).await, Err(Error::Invalid(_))),
            "argon2's own floor"
        );
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crate_both_ways() {
        let hasher = Hasher::new(&small()).await.expect("hasher");
        let ours = hasher.hash("correct horse battery").await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("phc");
        assert_eq!(parsed.algorithm.as_str(), ALGORITHM);
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong horse battery", &parsed)
                .is_err()
        );

        let params = Params::new(2048, 2, 1, None).expect("params");
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"another password", &salt)
            .expect("hash")
            .to_string();
        let verified = hasher.verify("another password", &theirs).await.expect("verify");
        assert_eq!(
            verified,
            Verified {
                ok: true,
                needs_rehash: true
            },
            "other parameters: rehash"
        );
        assert!(!hasher.verify("not it at all", &theirs).await.expect("verify").ok);
        assert_eq!(
            hasher
                .verify("correct horse battery", &ours)
                .await
                .expect("verify"),
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn argon2i_and_argon2d_hashes_verify_too() {
        let hasher = Hasher::new(&small()).await.expect("hasher");
        let salt = SaltString::encode_b64(b"fedcba9876543210").expect("salt");
        for algorithm in [Algorithm::Argon2i, Algorithm::Argon2d] {
            let phc = Argon2::new(
                algorithm,
                Version::V0x10,
                Params::new(512, 1, 2, None).expect("params"),
            )
            .hash_password(b"legacy password", &salt)
            .expect("hash")
            .to_string();
            let verified = hasher.verify("legacy password", &phc).await.expect("verify");
            assert!(verified.ok && verified.needs_rehash, "{phc}");
        }
        assert!(hasher.verify("anything", "not a hash").await.is_err());
    }

    #[test]
    fn concurrency_defaults_to_all_cores_but_one() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(
            PasswordConfig::default().effective_hash_concurrency(),
            cores.saturating_sub(1).max(1)
        );
        assert_eq!(small().effective_hash_concurrency(), 2);
    }
}
