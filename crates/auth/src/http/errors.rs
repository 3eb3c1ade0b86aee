//! Mapping auth errors to `application/problem+json`.

use actix_web::http::StatusCode;
use plinth_db::problem::Problem;

use crate::Error;

impl From<Error> for Problem {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid(msg) => Problem::invalid(msg),
            Error::Unauthenticated(msg) => Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", msg)
                .with_header("www-authenticate", r#"Bearer realm="plinth""#),
            Error::WrongProof(msg) => Problem::new(StatusCode::FORBIDDEN, "wrong-proof", msg),
            Error::Forbidden(missing) => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("missing scopes: {}", missing.join(", ")),
            )
            .with("missing_scopes", missing),
            Error::NotPermitted { detail, scope } => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", detail).with("missing_scopes", vec![scope])
            }
            Error::Locked(secs) => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "account-locked",
                format!("too many failed sign-ins; retry in {secs} seconds"),
            )
            .with_header("retry-after", secs.to_string()),
            Error::Conflict(msg) => Problem::conflict(msg),
            Error::NotFound(what) => Problem::not_found(format!("{what} not found")),
            Error::Session(e) => session_problem(e),
            Error::Event(plinth_events::Error::Invalid(msg)) => Problem::invalid(msg),
            Error::Event(plinth_events::Error::Db(e)) | Error::Db(e) => e.into(),
            Error::Internal(msg) => {
                tracing::error!(error = %msg, "internal auth error");
                Problem::internal()
            }
        }
    }
}

fn session_problem(err: plinth_sessions::Error) -> Problem {
    use plinth_sessions::Error as S;
    match err {
        S::NotFound(what) => Problem::not_found(format!("{what} not found")),
        S::Invalid(msg) => Problem::invalid(msg),
        S::Db(e) => e.into(),
        other @ (S::InvalidToken | S::Expired | S::SessionExpired | S::Revoked | S::RefreshReused) => {
            Error::Unauthenticated(other.to_string()).into()
        }
        other => {
            tracing::error!(error = %other, "session error");
            Problem::internal()
        }
    }
}
