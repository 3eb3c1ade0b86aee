//! Mapping queue errors to `application/problem+json`.

use plinth_db::problem::Problem;

use crate::Error;

impl From<Error> for Problem {
    fn from(err: Error) -> Self {
        match err {
            Error::BadRequest(msg) => Problem::bad_request(msg),
            Error::Invalid(msg) => Problem::invalid(msg),
            Error::NotFound(what) => Problem::not_found(format!("{what} not found")),
            Error::Conflict(msg) => Problem::conflict(msg),
            e @ Error::PayloadTooLarge { size, limit } => Problem::too_large(e.to_string())
                .with("size", size)
                .with("limit", limit),
            Error::Db(e) => e.into(),
        }
    }
}
