//! The HTTP API under `/v1/files`: uploads (direct and tus 1.0 resumable),
//! downloads with validators and ranges, signed links, file groups and
//! attachments. Mount with [`configure`] inside the server's `/v1` scope,
//! with `web::Data<FileStore>` and `web::Data<plinth_auth::Auth>` in the app
//! data; merge [`ApiDoc`] (paths include the `/v1` prefix) into the OpenAPI document.
//!
//! Scopes: `files:read:<bucket>`, `files:write:<bucket>` and
//! `files:delete:<bucket>` for files and uploads; `files:groups:read`,
//! `files:groups:write`, `files:attachments:read` and
//! `files:attachments:write` for groups and attachments. A signed link
//! downloads without credentials.

mod attachments;
pub mod download;
mod errors;
mod files;
mod groups;
pub mod range;
mod tus;

use actix_web::web;
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use utoipa::OpenApi;

use crate::bucket;

/// The file store routes' OpenAPI description; paths include the `/v1` prefix.
#[derive(OpenApi)]
#[openapi(
    paths(
        files::list,
        files::upload,
        files::get,
        files::update,
        files::delete,
        files::content,
        files::sign,
        files::shared,
        tus::options,
        tus::create,
        tus::head,
        tus::patch,
        tus::terminate,
        groups::children,
        groups::create,
        groups::get,
        groups::update,
        groups::delete,
        groups::move_to,
        groups::reorder,
        attachments::list,
        attachments::attach,
        attachments::detach,
        attachments::reorder,
    ),
    components(schemas(
        crate::File,
        crate::FileGroup,
        crate::Attachment,
        files::FileChange,
        files::LinkRequest,
        files::Link,
        groups::NewGroupBody,
        groups::GroupChange,
        groups::MoveBody,
        groups::OrderBody,
        attachments::AttachBody,
        attachments::OrderBody,
        download::Disposition,
    )),
    tags((name = "files", description = "Files, resumable uploads, signed links, file groups and attachments"))
)]
pub struct ApiDoc;

/// Registers the routes under `/files`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/files")
            .route("/shared/{id}", web::get().to(files::shared))
            .route("/shared/{id}", web::head().to(files::shared))
            .service(
                web::scope("/buckets/{bucket}")
                    .route("/files", web::get().to(files::list))
                    .route("/files", web::post().to(files::upload))
                    .route(
                        "/uploads",
                        web::method(actix_web::http::Method::OPTIONS).to(tus::options),
                    )
                    .route("/uploads", web::post().to(tus::create))
                    .route("/uploads/{id}", web::head().to(tus::head))
                    .route("/uploads/{id}", web::patch().to(tus::patch))
                    .route("/uploads/{id}", web::delete().to(tus::terminate)),
            )
            .route("/groups", web::get().to(groups::children))
            .route("/groups", web::post().to(groups::create))
            .route("/groups/order", web::put().to(groups::reorder))
            .route("/groups/{id}", web::get().to(groups::get))
            .route("/groups/{id}", web::patch().to(groups::update))
            .route("/groups/{id}", web::delete().to(groups::delete))
            .route("/groups/{id}/move", web::post().to(groups::move_to))
            .route("/attachments", web::get().to(attachments::list))
            .route("/attachments", web::post().to(attachments::attach))
            .route("/attachments/order", web::put().to(attachments::reorder))
            .route("/attachments/{id}", web::delete().to(attachments::detach))
            .route("/{id}", web::get().to(files::get))
            .route("/{id}", web::patch().to(files::update))
            .route("/{id}", web::delete().to(files::delete))
            .route("/{id}/content", web::get().to(files::content))
            .route("/{id}/content", web::head().to(files::content))
            .route("/{id}/links", web::post().to(files::sign)),
    );
}

/// What a caller may do to the files of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
    Delete,
}

/// Requires `files:<access>:<bucket>`; a malformed bucket name is a 404.
fn require_bucket(who: &Authenticated, access: Access, bucket: &str) -> Result<(), Problem> {
    bucket::check_name(bucket).map_err(|e| Problem::not_found(e.to_string()))?;
    let verb = match access {
        Access::Read => "read",
        Access::Write => "write",
        Access::Delete => "delete",
    };
    who.require(&format!("files:{verb}:{bucket}"))
}

/// The reply of every handler.
type Reply = Result<actix_web::HttpResponse, Problem>;
