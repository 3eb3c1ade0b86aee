//! Helpers for tests of crates whose routes check scopes.

#[cfg(feature = "http")]
use actix_web::body::MessageBody;
#[cfg(feature = "http")]
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
#[cfg(feature = "http")]
use actix_web::{App, web};
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

/// An app serving `routes` under `/v1` as the server mounts them, with
/// `state` and an [`Auth`] on `db` as app data and the problem+json
/// extractor errors (JSON bodies up to `json_limit` bytes).
#[cfg(feature = "http")]
pub async fn app<T: 'static>(
    db: DatabaseConnection,
    state: T,
    routes: fn(&mut web::ServiceConfig),
    json_limit: usize,
) -> Result<
    App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<impl MessageBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    >,
> {
    let auth = Auth::new(db, AuthConfig::default()).await?;
    Ok(App::new()
        .app_data(web::Data::new(state))
        .app_data(web::Data::new(auth))
        .configure(move |cfg| plinth_db::problem::configure_extractors(cfg, json_limit))
        .service(web::scope("/v1").configure(routes)))
}
