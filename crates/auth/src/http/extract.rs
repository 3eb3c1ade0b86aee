//! Extracting the caller: `Authenticated` resolves the bearer credential of a
//! request into a principal (401 problem when missing or invalid);
//! `RequestInfo` carries the request's id, address and user agent for events.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use ipnet::IpNet;
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
    /// The details of `req`; the client address is the peer's, or behind a
    /// proxy listed in `trusted_proxies` of the registered [`Auth`], the one
    /// it forwarded.
    pub fn of(req: &HttpRequest) -> Self {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(512).collect::<String>())
        };
        Self {
            request_id: header("x-request-id"),
            ip: client_ip(req).map(|ip| ip.to_string()),
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

/// The client address of `req`: its peer's, unless the peer is a trusted
/// proxy, in which case the one that proxy forwarded.
fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    let Some(auth) = req.app_data::<web::Data<Auth>>() else {
        return Some(peer);
    };
    let trusted = &auth.config().trusted_proxies;
    if !is_trusted(trusted, &peer) {
        return Some(peer);
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(forwarded_client(peer, &forwarded.join(","), trusted))
}

/// Whether `ip` is in one of the `trusted` proxy ranges.
fn is_trusted(trusted: &[IpNet], ip: &IpAddr) -> bool {
    trusted.iter().any(|range| range.contains(ip))
}

/// The right-most entry of the `X-Forwarded-For` list `forwarded` that is not
/// in `trusted` (each proxy appends the address it received the request
/// from, so entries left of it may be forged); `peer` when every entry is
/// trusted or that entry is not an address.
fn forwarded_client(peer: IpAddr, forwarded: &str, trusted: &[IpNet]) -> IpAddr {
    forwarded
        .rsplit(',')
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<IpAddr>()
                .or_else(|_| entry.parse::<SocketAddr>().map(|a| a.ip()))
                .map(|ip| ip.to_canonical())
        })
        .find(|entry| !matches!(entry, Ok(ip) if is_trusted(trusted, ip)))
        .and_then(Result::ok)
        .unwrap_or(peer)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_forwarded_entry() {
        let peer = ip("10.0.0.1");
        let trusted = [IpNet::from(peer), "10.0.1.0/24".parse().expect("range")];
        let client = |forwarded| forwarded_client(peer, forwarded, &trusted);
        assert_eq!(client("198.51.100.7"), ip("198.51.100.7"));
        assert_eq!(
            client("203.0.113.9, 198.51.100.7"),
            ip("198.51.100.7"),
            "a forged entry on the left is ignored"
        );
        assert_eq!(
            client("198.51.100.7, 10.0.1.7, 10.0.1.200"),
            ip("198.51.100.7"),
            "hops in a trusted range are skipped"
        );
        assert_eq!(
            client("198.51.100.7, 10.0.0.2"),
            ip("10.0.0.2"),
            "an address beside a trusted one is not trusted"
        );
        assert_eq!(
            client("198.51.100.7:4711"),
            ip("198.51.100.7"),
            "a port is dropped"
        );
        assert_eq!(client("[2001:db8::1]:443"), ip("2001:db8::1"));
        assert_eq!(client("::ffff:198.51.100.7"), ip("198.51.100.7"));
        assert_eq!(client(""), peer, "no header");
        assert_eq!(client("10.0.1.2"), peer, "only trusted hops");
        assert_eq!(
            client("198.51.100.7, unknown"),
            peer,
            "the right-most untrusted entry is malformed"
        );
    }
}
