//! Extracting the caller: `Authenticated` resolves the bearer credential of a
//! request into a principal (401 problem when missing or invalid);
//! `RequestInfo` carries the request's id, address and user agent for events.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use plinth_db::problem::Problem;
use plinth_events::Context;

use crate::scope::ScopeExpr;
use crate::{Auth, Error, Principal};

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// The `x-request-id` of the request, if any.
    pub request_id: Option<String>,
    /// The client address (the peer, or the forwarded address behind a trusted proxy).
    pub ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

impl RequestInfo {
    /// The details of `req`.
    pub fn of(req: &HttpRequest) -> Self {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(512).collect::<String>())
        };
        Self {
            request_id: header("x-request-id"),
            ip: req.peer_addr().map(|a| a.ip().to_string()),
            user_agent: header(header::USER_AGENT.as_str()),
        }
    }

    /// An event context for an anonymous request.
    pub fn context(&self) -> Context {
        Context {
            actor: None,
            request_id: self.request_id.clone(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
        }
    }
}

impl FromRequest for RequestInfo {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::of(req)))
    }
}

/// The authenticated caller of a request and where the request came from.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who is calling, with expanded scopes.
    pub principal: Principal,
    /// Request details for events.
    pub request: RequestInfo,
}

impl Authenticated {
    /// `Ok` when the caller holds `scope`, else a 403 problem naming it.
    pub fn require(&self, scope: &str) -> Result<(), Problem> {
        self.require_expr(&ScopeExpr::scope(scope))
    }

    /// `Ok` when the caller satisfies `expr`, else a 403 problem naming what is missing.
    pub fn require_expr(&self, expr: &ScopeExpr) -> Result<(), Problem> {
        self.principal.check(expr).map_err(Problem::from)
    }

    /// The event context: this principal as actor, with the request's details.
    pub fn context(&self) -> Context {
        Context {
            actor: Some(self.principal.actor()),
            ..self.request.context()
        }
    }
}

/// The bearer token of a request, if it has a well-formed `Authorization: Bearer` header.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequest for Authenticated {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let auth = req.app_data::<web::Data<Auth>>().cloned();
        let token = bearer(req).map(str::to_owned);
        let request = RequestInfo::of(req);
        Box::pin(async move {
            let Some(auth) = auth else {
                tracing::error!("web::Data<Auth> is not registered");
                return Err(Problem::internal().into());
            };
            let token = token.ok_or_else(|| {
                Problem::from(Error::Unauthenticated(
                    "missing `Authorization: Bearer` credential".into(),
                ))
            })?;
            let principal = auth
                .authenticate(&token, request.ip.as_deref())
                .await
                .map_err(Problem::from)?;
            Ok(Self { principal, request })
        })
    }
}
