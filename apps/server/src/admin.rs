//! `plinth admin`: bootstrap commands run against the configured database.

use clap::Subcommand;
use plinth_auth::Auth;
use plinth_auth::users::NewUser;
use plinth_events::Context;

use crate::config::Config;
use crate::error::Result;

/// The environment variable that supplies the new user's password.
pub const PASSWORD_ENV: &str = "PLINTH_ADMIN_PASSWORD";

/// An administration command.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AdminCommand {
    /// Create an active, verified user. The password comes from
    /// `PLINTH_ADMIN_PASSWORD`, or is generated and printed once.
    CreateUser {
        /// The username.
        #[arg(long)]
        username: String,
        /// The email address.
        #[arg(long)]
        email: String,
        /// Grant every scope (`*`).
        #[arg(long)]
        admin: bool,
    },
}

/// Runs `command`: migrates the database first, so it works on a fresh one.
pub async fn run(config: &Config, command: AdminCommand) -> Result<()> {
    let db = plinth_db::connect_with(&config.database).await?;
    plinth_db::migrate::up(&db, &plinth_migrations::all()).await?;
    let auth = Auth::new(db.clone(), config.auth.clone()).await?;
    let ctx = Context::actor("system", "plinth-admin");
    match command {
        AdminCommand::CreateUser {
            username,
            email,
            admin,
        } => {
            let (password, generated) = match std::env::var(PASSWORD_ENV) {
                Ok(p) if !p.is_empty() => (p, false),
                _ => (generate_password()?, true),
            };
            let scopes = if admin { vec!["*".to_owned()] } else { Vec::new() };
            let user = auth
                .create_verified_user(
                    &ctx,
                    NewUser {
                        username,
                        email,
                        name: None,
                        password: password.clone(),
                        scopes,
                    },
                )
                .await?;
            println!("created user {} ({})", user.username, user.id);
            if generated {
                println!("password: {password}");
            }
        }
    }
    db.close().await.ok();
    Ok(())
}

/// 24 random characters from an unambiguous alphabet, each equally likely.
fn generate_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const LEN: usize = 24;
    // Bytes at or above the largest multiple of the alphabet's size are
    // dropped, so that the remainder is uniform.
    let limit = 256 - 256 % ALPHABET.len();
    let mut password = String::with_capacity(LEN);
    let mut bytes = [0u8; 64];
    while password.len() < LEN {
        plinth_db::secret::random_bytes(&mut bytes)
            .map_err(|e| plinth_auth::Error::Internal(e.to_string()))?;
        password.extend(
            bytes
                .iter()
                .map(|b| usize::from(*b))
                .filter(|b| *b < limit)
                .map(|b| char::from(ALPHABET[b % ALPHABET.len()]))
                .take(LEN - password.len()),
        );
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_24_characters_of_the_alphabet() {
        let passwords: Vec<String> = (0..200).map(|_| generate_password().expect("password")).collect();
        for p in &passwords {
            assert_eq!(p.chars().count(), 24, "{p}");
            assert!(
                p.chars()
                    .all(|c| c.is_ascii_alphanumeric() && !"ilo01IO".contains(c)),
                "{p}"
            );
        }
        let distinct: std::collections::HashSet<_> = passwords.iter().collect();
        assert_eq!(distinct.len(), passwords.len());
        // Every character of the alphabet turns up in 4800 draws (that any
        // is missed has a probability below 1e-36).
        let seen: std::collections::HashSet<char> = passwords.iter().flat_map(|p| p.chars()).collect();
        assert_eq!(seen.len(), 55);
    }
}
