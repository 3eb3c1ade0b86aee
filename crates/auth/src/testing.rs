//! Helpers for tests of crates whose routes check scopes.

use plinth_events::Context;
use sea_orm::DatabaseConnection;

use crate::clients::NewClient;
use crate::{Auth, AuthConfig, Result};

/// The migrators a test database needs before auth can be used, in order.
pub fn migrators() -> Vec<&'static dyn plinth_db::migrate::Migrator> {
    vec![
        &plinth_events::Migrator,
        &plinth_sessions::Migrator,
        &crate::Migrator,
    ]
}

/// Creates a client holding exactly `scopes` and returns its bearer secret.
/// The auth tables must exist (see [`migrators`]).
pub async fn bearer_with_scopes(db: &DatabaseConnection, scopes: &[&str]) -> Result<String> {
    let auth = Auth::new(db.clone(), AuthConfig::default()).await?;
    let id = format!("test-{}", uuid::Uuid::now_v7().simple());
    let (_, secret) = auth
        .create_client(
            &Context::default(),
            NewClient {
                client_id: id,
                description: "test client".into(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                expires_at: None,
                delete_on_expiration: false,
            },
        )
        .await?;
    Ok(secret)
}
