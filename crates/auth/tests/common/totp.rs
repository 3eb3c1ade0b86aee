//! The authenticator app's side of TOTP, for tests of MFA enrolment and sign-in.

use std::time::{SystemTime, UNIX_EPOCH};

use totp_rs::{Builder, Secret, Totp};

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// The authenticator app's view of the secret.
pub fn authenticator(secret: &str) -> Totp {
    Builder::new()
        .with_secret(Secret::try_from_base32(secret).expect("base32"))
        .build()
        .expect("totp")
}

/// A six-digit code valid in none of the steps around now.
pub fn wrong_code(totp: &Totp) -> String {
    let t = now();
    let valid: Vec<String> = (0..5)
        .map(|i| totp.generate(t + i * 30 - 60).to_string())
        .collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !valid.contains(c))
        .expect("a wrong code")
}
