//! Mapping file-store errors to `application/problem+json`.

use actix_web::http::StatusCode;
use plinth_db::problem::Problem;

use crate::Error;

impl From<Error> for Problem {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid(msg) => Problem::invalid(msg),
            Error::NotFound(what) => Problem::not_found(format!("{what} not found")),
            e @ Error::UnknownBucket(_) => Problem::not_found(e.to_string()),
            e @ Error::TooLarge { .. } => Problem::too_large(e.to_string()),
            e @ Error::UnsupportedType { .. } => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                e.to_string(),
            ),
            Error::OffsetMismatch { expected, given } => {
                Problem::conflict(format!("the upload is at offset {expected}, not {given}"))
                    .with("upload_offset", expected)
            }
            Error::Conflict(msg) => Problem::conflict(msg),
            Error::BadLink(msg) => Problem::new(StatusCode::FORBIDDEN, "bad-link", msg),
            e @ Error::Body(_) => Problem::bad_request(e.to_string()),
            e @ Error::Config(_) => {
                tracing::error!(error = %e, "file store misconfigured");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "this operation is not configured on the server",
                )
            }
            Error::Blob(e) => {
                tracing::error!(error = %e, "blob store error");
                Problem::internal()
            }
            Error::Db(e) => e.into(),
        }
    }
}
