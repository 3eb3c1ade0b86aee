//! Resumable uploads over the tus 1.0 protocol (core, creation and
//! termination extensions). An upload lives at
//! `/files/buckets/{bucket}/uploads/{id}`; the file it becomes is named in
//! the `Plinth-File-Id` header of the response that completes it (and of
//! any later `HEAD`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Access, Reply, require_bucket};
use crate::{FileStore, NewUpload, Upload};

/// The protocol version spoken.
pub const VERSION: &str = "1.0.0";
/// The extensions supported.
pub const EXTENSIONS: &str = "creation,termination";
/// The media type of `PATCH` bodies.
pub const PATCH_TYPE: &str = "application/offset+octet-stream";
/// The response header naming the file a completed upload became.
pub const FILE_ID_HEADER: &str = "plinth-file-id";

/// Adds `Tus-Resumable` to a reply, success or problem.
fn tus(reply: Reply) -> Reply {
    match reply {
        Ok(mut res) => {
            res.headers_mut().insert(
                HeaderName::from_static("tus-resumable"),
                HeaderValue::from_static(VERSION),
            );
            Ok(res)
        }
        Err(problem) => Err(problem.with_header("tus-resumable", VERSION)),
    }
}

/// Refuses a request without `Tus-Resumable: 1.0.0` with 412.
fn check_version(req: &HttpRequest) -> Result<(), Problem> {
    match req.headers().get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(VERSION) => Ok(()),
        other => Err(Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "tus-version",
            format!(
                "Tus-Resumable must be {VERSION}, got {}",
                other.unwrap_or("nothing")
            ),
        )
        .with_header("tus-version", VERSION)),
    }
}

/// A numeric header, 400 when missing or malformed.
fn number(req: &HttpRequest, name: &str) -> Result<u64, Problem> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Problem::bad_request(format!("a non-negative integer {name} header is required")))
}

/// Parses `Upload-Metadata` (`key base64,key base64,…`) into the file name
/// (`filename` or `name`) and the rest as metadata; types are sniffed, so
/// `filetype` is dropped.
fn metadata(req: &HttpRequest) -> Result<(String, Value), Problem> {
    let mut name = String::new();
    let mut meta = Map::new();
    let Some(raw) = req.headers().get("upload-metadata") else {
        return Ok((name, Value::Object(meta)));
    };
    let raw = raw
        .to_str()
        .map_err(|_| Problem::bad_request("Upload-Metadata must be ASCII"))?;
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, encoded) = pair.split_once(' ').unwrap_or((pair, ""));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| Problem::bad_request(format!("Upload-Metadata value of `{key}` is not base64")))?;
        let value = String::from_utf8(bytes)
            .map_err(|_| Problem::bad_request(format!("Upload-Metadata value of `{key}` is not UTF-8")))?;
        match key {
            "filename" | "name" => name = value,
            "filetype" | "contentType" => {}
            _ => {
                meta.insert(key.to_owned(), Value::String(value));
            }
        }
    }
    Ok((name, Value::Object(meta)))
}

/// The upload `id`, if it belongs to `bucket`.
async fn find(store: &FileStore, bucket: &str, id: Uuid) -> Result<Upload, Problem> {
    let upload = store.upload(id).await?;
    if upload.bucket_name != bucket {
        return Err(Problem::not_found(format!("upload {id} not found")));
    }
    Ok(upload)
}

/// The `Upload-Offset` reply to a `HEAD` or `PATCH`, naming the file once complete.
fn offset_reply(status: StatusCode, upload: &Upload) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header(("upload-offset", upload.offset().to_string()))
        .insert_header(("upload-length", upload.length().to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(file) = upload.file {
        res.insert_header((FILE_ID_HEADER, file.to_string()));
    }
    res.finish()
}

/// What the server supports for a bucket: version, extensions and `Tus-Max-Size`.
#[utoipa::path(options, path = "/v1/files/buckets/{bucket}/uploads", tag = "files",
    params(("bucket" = String, Path, description = "Bucket name")),
    responses((status = 204, description = "Tus-Version, Tus-Extension and Tus-Max-Size headers"),
              (status = 404, body = Problem)))]
pub async fn options(store: web::Data<FileStore>, bucket: web::Path<String>) -> Reply {
    tus(async {
        let max = store.bucket(&bucket)?.limit();
        Ok(HttpResponse::NoContent()
            .insert_header(("tus-version", VERSION))
            .insert_header(("tus-extension", EXTENSIONS))
            .insert_header(("tus-max-size", max.to_string()))
            .finish())
    }
    .await)
}

/// Start a resumable upload of `Upload-Length` bytes (scope `files:write:<bucket>`).
#[utoipa::path(post, path = "/v1/files/buckets/{bucket}/uploads", tag = "files",
    params(("bucket" = String, Path, description = "Bucket name"),
           ("Tus-Resumable" = String, Header, description = "1.0.0"),
           ("Upload-Length" = u64, Header, description = "Total length in bytes"),
           ("Upload-Metadata" = Option<String>, Header, description = "`filename` and other keys, base64 values")),
    responses((status = 201, description = "Created; `Location` names the upload"),
              (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 412, body = Problem), (status = 413, body = Problem)))]
pub async fn create(
    req: HttpRequest,
    store: web::Data<FileStore>,
    who: Authenticated,
    bucket: web::Path<String>,
) -> Reply {
    tus(async {
        check_version(&req)?;
        require_bucket(&who, Access::Write, &bucket)?;
        if req.headers().contains_key("upload-defer-length") {
            return Err(Problem::bad_request("Upload-Defer-Length is not supported"));
        }
        let length = number(&req, "upload-length")?;
        let (name, meta) = metadata(&req)?;
        let new = NewUpload {
            bucket: bucket.clone(),
            name,
            meta,
            length,
        };
        let upload = store.create_upload(&who.context(), new).await?;
        let mut res = offset_reply(StatusCode::CREATED, &upload);
        let location = format!("{}/{}", req.path().trim_end_matches('/'), upload.id);
        if let Ok(value) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(header::LOCATION, value);
        }
        Ok(res)
    }
    .await)
}

/// Where an upload stands: `Upload-Offset` and `Upload-Length` (scope `files:write:<bucket>`).
#[utoipa::path(head, path = "/v1/files/buckets/{bucket}/uploads/{id}", tag = "files",
    params(("bucket" = String, Path, description = "Bucket name"), ("id" = Uuid, Path, description = "Upload id"),
           ("Tus-Resumable" = String, Header, description = "1.0.0")),
    responses((status = 200, description = "Upload-Offset, Upload-Length and, once complete, Plinth-File-Id"),
              (status = 404, body = Problem), (status = 412, body = Problem)))]
pub async fn head(
    req: HttpRequest,
    store: web::Data<FileStore>,
    who: Authenticated,
    path: web::Path<(String, Uuid)>,
) -> Reply {
    tus(async {
        check_version(&req)?;
        let (bucket, id) = path.into_inner();
        require_bucket(&who, Access::Write, &bucket)?;
        let upload = find(&store, &bucket, id).await?;
        Ok(offset_reply(StatusCode::OK, &upload))
    }
    .await)
}

/// Append the body at `Upload-Offset` (scope `files:write:<bucket>`). Bytes
/// received before a broken connection are kept: ask `HEAD` and resume.
#[utoipa::path(patch, path = "/v1/files/buckets/{bucket}/uploads/{id}", tag = "files",
    params(("bucket" = String, Path, description = "Bucket name"), ("id" = Uuid, Path, description = "Upload id"),
           ("Tus-Resumable" = String, Header, description = "1.0.0"),
           ("Upload-Offset" = u64, Header, description = "Where the body starts")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses((status = 204, description = "The new Upload-Offset (and Plinth-File-Id when complete)"),
              (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 412, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem)))]
pub async fn patch(
    req: HttpRequest,
    store: web::Data<FileStore>,
    who: Authenticated,
    path: web::Path<(String, Uuid)>,
    body: web::Payload,
) -> Reply {
    tus(async {
        check_version(&req)?;
        let (bucket, id) = path.into_inner();
        require_bucket(&who, Access::Write, &bucket)?;
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if content_type != Some(PATCH_TYPE) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                format!("a PATCH body must be {PATCH_TYPE}"),
            ));
        }
        let offset = number(&req, "upload-offset")?;
        find(&store, &bucket, id).await?;
        let upload = store.append(&who.context(), id, offset, body).await?;
        Ok(offset_reply(StatusCode::NO_CONTENT, &upload))
    }
    .await)
}

/// Abandon an upload (scope `files:write:<bucket>`); its parts are swept.
#[utoipa::path(delete, path = "/v1/files/buckets/{bucket}/uploads/{id}", tag = "files",
    params(("bucket" = String, Path, description = "Bucket name"), ("id" = Uuid, Path, description = "Upload id"),
           ("Tus-Resumable" = String, Header, description = "1.0.0")),
    responses((status = 204, description = "Terminated"), (status = 404, body = Problem), (status = 412, body = Problem)))]
pub async fn terminate(
    req: HttpRequest,
    store: web::Data<FileStore>,
    who: Authenticated,
    path: web::Path<(String, Uuid)>,
) -> Reply {
    tus(async {
        check_version(&req)?;
        let (bucket, id) = path.into_inner();
        require_bucket(&who, Access::Write, &bucket)?;
        find(&store, &bucket, id).await?;
        store.cancel_upload(id).await?;
        Ok(HttpResponse::NoContent().finish())
    }
    .await)
}
