//! Serving a file's content: validators (`ETag`, `Last-Modified`) and 304s,
//! byte ranges (206, `multipart/byteranges`, 416), and headers that keep a
//! browser from treating stored content as part of the site.

use std::ops::Range;
use std::str::FromStr;
use std::time::SystemTime;

use actix_web::http::header::{self, HttpDate};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use plinth_db::problem::Problem;
use serde::Deserialize;

use super::range::{self, Ranges};
use crate::blob::ByteStream;
use crate::{File, FileStore, name};

/// How the browser should present the content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Save it (the default).
    #[default]
    Attachment,
    /// Show it in the page, for images, audio, video, PDF and plain text only.
    Inline,
}

/// Query parameters of a download.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct DownloadQuery {
    /// `attachment` (default) or `inline`.
    #[serde(default)]
    pub disposition: Disposition,
}

/// The `ETag` of a file: its BLAKE3, quoted (a strong validator: content never changes).
pub fn etag(file: &File) -> String {
    format!("\"{}\"", file.checksum)
}

/// The response to a `GET` or `HEAD` of `file`'s content.
pub async fn respond(
    req: &HttpRequest,
    store: &FileStore,
    file: &File,
    disposition: Disposition,
) -> Result<HttpResponse, Problem> {
    let etag = etag(file);
    let modified = last_modified(file);
    let len = u64::try_from(file.content_length).unwrap_or_default();
    let mut res = HttpResponse::build(StatusCode::OK);
    res.insert_header((header::ETAG, etag.clone()))
        .insert_header((header::LAST_MODIFIED, HttpDate::from(modified)))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("content-security-policy", "sandbox; default-src 'none'"));
    if not_modified(req, &etag, modified) {
        return Ok(res.status(StatusCode::NOT_MODIFIED).finish());
    }
    let inline = disposition == Disposition::Inline && shown_inline(&file.content_type);
    let kind = if inline { "inline" } else { "attachment" };
    res.insert_header((
        header::CONTENT_DISPOSITION,
        name::content_disposition(kind, &file.name),
    ));
    let head = req.method() == Method::HEAD;
    let ranges = match req.headers().get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(value) if if_range_holds(req, &etag, modified) => range::parse(value, len),
        _ => Ranges::Full,
    };
    match ranges {
        Ranges::Full => {
            res.insert_header((header::CONTENT_TYPE, file.content_type.as_str()));
            let body = content(store, file, 0..len, head).await?;
            Ok(res.no_chunking(len).streaming(body))
        }
        Ranges::Unsatisfiable => Err(Problem::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range-not-satisfiable",
            format!("no requested range overlaps the {len} bytes of the file"),
        )
        .with_header("content-range", format!("bytes */{len}"))),
        Ranges::Partial(ranges) => match <[Range<u64>; 1]>::try_from(ranges) {
            Ok([one]) => {
                res.status(StatusCode::PARTIAL_CONTENT)
                    .insert_header((header::CONTENT_TYPE, file.content_type.as_str()))
                    .insert_header((
                        header::CONTENT_RANGE,
                        format!("bytes {}-{}/{len}", one.start, one.end - 1),
                    ));
                let size = one.end - one.start;
                let body = content(store, file, one, head).await?;
                Ok(res.no_chunking(size).streaming(body))
            }
            Err(ranges) => Ok(multipart(res, store, file, ranges, head)),
        },
    }
}

/// The body for `range`, or an empty one for `HEAD` (no blob is read).
async fn content(
    store: &FileStore,
    file: &File,
    range: Range<u64>,
    head: bool,
) -> Result<ByteStream, Problem> {
    if head {
        return Ok(stream::empty().boxed());
    }
    Ok(store.content_range(file, range).await?)
}

/// A `multipart/byteranges` response of several ranges, streamed part by part.
fn multipart(
    mut res: HttpResponseBuilder,
    store: &FileStore,
    file: &File,
    ranges: Vec<Range<u64>>,
    head: bool,
) -> HttpResponse {
    let boundary = uuid::Uuid::new_v4().simple().to_string();
    let len = file.content_length;
    let parts: Vec<(Bytes, Range<u64>)> = ranges
        .into_iter()
        .map(|r| {
            let head = format!(
                "\r\n--{boundary}\r\nContent-Type: {}\r\nContent-Range: bytes {}-{}/{len}\r\n\r\n",
                file.content_type,
                r.start,
                r.end - 1
            );
            (Bytes::from(head), r)
        })
        .collect();
    let end = Bytes::from(format!("\r\n--{boundary}--\r\n"));
    let size = parts
        .iter()
        .map(|(head, r)| head.len() as u64 + (r.end - r.start))
        .sum::<u64>()
        + end.len() as u64;
    res.status(StatusCode::PARTIAL_CONTENT).insert_header((
        header::CONTENT_TYPE,
        format!("multipart/byteranges; boundary={boundary}"),
    ));
    if head {
        return res
            .no_chunking(size)
            .streaming(stream::empty::<Result<Bytes, crate::Error>>());
    }
    let (store, file) = (store.clone(), file.clone());
    let body = stream::iter(parts)
        .map(move |(head, range)| {
            let (store, file) = (store.clone(), file.clone());
            let data = stream::once(async move { store.content_range(&file, range).await }).try_flatten();
            stream::once(async move { Ok(head) }).chain(data)
        })
        .flatten()
        .chain(stream::once(async move { Ok(end) }));
    res.no_chunking(size).streaming(body)
}

/// The file's `Last-Modified`: when its content was stored, to the second.
fn last_modified(file: &File) -> SystemTime {
    let stored = file.created_at.replace_nanosecond(0).unwrap_or(file.created_at);
    SystemTime::from(stored)
}

/// Whether the client's copy is current: `If-None-Match` when present
/// (weak comparison), otherwise `If-Modified-Since`.
fn not_modified(req: &HttpRequest, etag: &str, modified: SystemTime) -> bool {
    let headers = req.headers();
    if let Some(value) = headers.get(header::IF_NONE_MATCH) {
        let Ok(value) = value.to_str() else { return false };
        return value
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag);
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| HttpDate::from_str(v).ok())
        .is_some_and(|since| modified <= SystemTime::from(since))
}

/// Whether a `Range` applies: no `If-Range`, or one naming this version
/// (strong comparison of the `ETag`, or exactly the `Last-Modified` date).
fn if_range_holds(req: &HttpRequest, etag: &str, modified: SystemTime) -> bool {
    let Some(value) = req.headers().get(header::IF_RANGE) else {
        return true;
    };
    let Ok(value) = value.to_str() else { return false };
    if value.starts_with('"') {
        return value == etag;
    }
    HttpDate::from_str(value).is_ok_and(|date| SystemTime::from(date) == modified)
}

/// Types a browser may show inline without running anything.
fn shown_inline(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let family = essence.split('/').next().unwrap_or_default();
    matches!(family, "audio" | "video")
        || (family == "image" && essence != "image/svg+xml")
        || matches!(essence, "application/pdf" | "text/plain")
}
