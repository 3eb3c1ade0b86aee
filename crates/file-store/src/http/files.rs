//! File routes: direct upload, listing, metadata, deletion, downloads and
//! signed links.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::download::{self, DownloadQuery};
use super::{Access, Reply, require_bucket};
use crate::{File, FileStore, FileUpdate, LinkSignature, NewFile};

/// Paging through a bucket.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Continue after this file id.
    pub after: Option<Uuid>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u64>,
}

/// Files of a bucket, oldest first (scope `files:read:<bucket>`).
#[utoipa::path(get, path = "/v1/files/buckets/{bucket}/files", tag = "files",
    params(("bucket" = String, Path, description = "Bucket name"), ListQuery),
    responses((status = 200, description = "A page of files", body = Vec<File>),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    store: web::Data<FileStore>,
    who: Authenticated,
    bucket: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Reply {
    require_bucket(&who, Access::Read, &bucket)?;
    let files = store
        .list(&bucket, query.after, query.limit.unwrap_or(100))
        .await?;
    Ok(HttpResponse::Ok().json(files))
}

/// The name of a directly uploaded file.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file name (cleaned: control characters and path separators are removed).
    pub name: Option<String>,
}

/// Upload a file as the raw request body (scope `files:write:<bucket>`).
/// The type is sniffed from the bytes; the `Content-Type` header is ignored.
#[utoipa::path(post, path = "/v1/files/buckets/{bucket}/files", tag = "files",
    params(("bucket" = String, Path, description = "Bucket name"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "The stored file", body = File),
              (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem)))]
pub async fn upload(
    req: HttpRequest,
    store: web::Data<FileStore>,
    who: Authenticated,
    bucket: web::Path<String>,
    query: web::Query<UploadQuery>,
    body: web::Payload,
) -> Reply {
    require_bucket(&who, Access::Write, &bucket)?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(declared) = declared {
        store.bucket(&bucket)?.check_size(declared)?;
    }
    let new = NewFile {
        bucket: bucket.clone(),
        name: query.into_inner().name.unwrap_or_default(),
        meta: json!({}),
    };
    let file = store.create(&who.context(), new, body).await?;
    let base = req
        .path()
        .strip_suffix(&format!("/buckets/{bucket}/files"))
        .unwrap_or_default();
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("{base}/{}", file.id)))
        .json(file))
}

/// Loads file `id` and requires `access` to its bucket.
async fn authorized(
    store: &FileStore,
    who: &Authenticated,
    access: Access,
    id: Uuid,
) -> Result<File, Problem> {
    let file = store.get(id).await?;
    require_bucket(who, access, &file.bucket_name)?;
    Ok(file)
}

/// A file's metadata (scope `files:read:<bucket>`).
#[utoipa::path(get, path = "/v1/files/{id}", tag = "files", params(("id" = Uuid, Path, description = "File id")),
    responses((status = 200, description = "The file", body = File),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(store: web::Data<FileStore>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    Ok(HttpResponse::Ok().json(authorized(&store, &who, Access::Read, *id).await?))
}

/// A change of name or metadata.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileChange {
    /// The new name.
    #[serde(default)]
    pub name: Option<String>,
    /// The new metadata (a JSON object), replacing the old.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
}

/// Rename a file or replace its metadata (scope `files:write:<bucket>`).
#[utoipa::path(patch, path = "/v1/files/{id}", tag = "files", params(("id" = Uuid, Path, description = "File id")),
    request_body = FileChange,
    responses((status = 200, description = "The file", body = File), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    store: web::Data<FileStore>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<FileChange>,
) -> Reply {
    authorized(&store, &who, Access::Write, *id).await?;
    let FileChange { name, meta } = body.into_inner();
    let file = store
        .update(&who.context(), *id, FileUpdate { name, meta })
        .await?;
    Ok(HttpResponse::Ok().json(file))
}

/// Delete a file (scope `files:delete:<bucket>`); its bytes are swept later.
#[utoipa::path(delete, path = "/v1/files/{id}", tag = "files", params(("id" = Uuid, Path, description = "File id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(store: web::Data<FileStore>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    authorized(&store, &who, Access::Delete, *id).await?;
    store.delete(&who.context(), *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Download a file (scope `files:read:<bucket>`): `ETag`/`Last-Modified`
/// validators, `Range` (several ranges as `multipart/byteranges`), `If-Range`.
#[utoipa::path(get, path = "/v1/files/{id}/content", tag = "files",
    params(("id" = Uuid, Path, description = "File id"), DownloadQuery),
    responses((status = 200, description = "The content", body = Vec<u8>, content_type = "application/octet-stream"),
              (status = 206, description = "The requested ranges"), (status = 304, description = "Not modified"),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 416, body = Problem)))]
pub async fn content(
    req: HttpRequest,
    store: web::Data<FileStore>,
    who: Authenticated,
    id: web::Path<Uuid>,
    query: web::Query<DownloadQuery>,
) -> Reply {
    let file = authorized(&store, &who, Access::Read, *id).await?;
    download::respond(&req, &store, &file, query.disposition).await
}

/// A request for a signed link.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// Lifetime in seconds (at most the configured maximum; default one hour).
    #[serde(default)]
    pub ttl_secs: Option<u32>,
}

/// A signed download link.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Link {
    /// The path (and query) that downloads the file without credentials.
    pub url: String,
    /// When the link stops working.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

/// Create a link that downloads the file without credentials until it
/// expires or its key is retired (scope `files:read:<bucket>`).
#[utoipa::path(post, path = "/v1/files/{id}/links", tag = "files", params(("id" = Uuid, Path, description = "File id")),
    request_body = LinkRequest,
    responses((status = 201, description = "The link", body = Link), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn sign(
    req: HttpRequest,
    store: web::Data<FileStore>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<LinkRequest>,
) -> Reply {
    authorized(&store, &who, Access::Read, *id).await?;
    let ttl = time::Duration::seconds(i64::from(body.ttl_secs.unwrap_or(3600)));
    let link = store.sign_link(*id, ttl).await?;
    let base = req
        .path()
        .strip_suffix(&format!("/{id}/links"))
        .unwrap_or_default();
    let link = Link {
        url: format!("{base}/shared/{id}?{}", link.query()),
        expires_at: link.expires_at(),
    };
    Ok(HttpResponse::Created().json(link))
}

/// The query string of a signed link.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SharedQuery {
    /// Expiry (Unix seconds).
    pub expires: i64,
    /// Id of the signing key.
    pub key: String,
    /// The signature.
    pub sig: String,
    /// `attachment` (default) or `inline`.
    #[serde(default)]
    pub disposition: download::Disposition,
}

/// Download through a signed link, without credentials; 403 once it has
/// expired or its key was retired.
#[utoipa::path(get, path = "/v1/files/shared/{id}", tag = "files",
    params(("id" = Uuid, Path, description = "File id"), SharedQuery),
    responses((status = 200, description = "The content", body = Vec<u8>, content_type = "application/octet-stream"),
              (status = 206, description = "The requested ranges"), (status = 304, description = "Not modified"),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 416, body = Problem)))]
pub async fn shared(
    req: HttpRequest,
    store: web::Data<FileStore>,
    id: web::Path<Uuid>,
    query: web::Query<SharedQuery>,
) -> Reply {
    let SharedQuery {
        expires,
        key,
        sig,
        disposition,
    } = query.into_inner();
    let file = store.open_link(*id, &LinkSignature { expires, key, sig }).await?;
    download::respond(&req, &store, &file, disposition).await
}
