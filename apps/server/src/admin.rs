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
            let (user, token) = auth
                .create_user(
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
            auth.verify_email(&ctx, &token).await?;
            println!("created user {} ({})", user.username, user.id);
            if generated {
                println!("password: {password}");
            }
        }
    }
    db.close().await.ok();
    Ok(())
}

/// 24 random characters from an unambiguous alphabet.
fn generate_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 24];
    plinth_db::secret::random_bytes(&mut bytes).map_err(|e| plinth_auth::Error::Internal(e.to_string()))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}
