//! Rate limits as configured: sections read from configuration, then enforced per endpoint.

use std::time::{Duration, Instant};

use plinth_auth::AuthConfig;
use plinth_auth::rate_limit::{Endpoint, Rate, RateLimitConfig, RateLimits};

#[test]
fn configured_limits_are_enforced_per_endpoint() {
    let config: AuthConfig = serde_json::from_value(serde_json::json!({
        "rate_limit": {
            "login": {
                "per_ip": { "per_minute": 2, "burst": 2 },
                "per_account": { "per_minute": 1, "burst": 1 }
            }
        },
        "mfa": { "key": "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=" },
        "orgs": { "invitation_secs": 3600 },
        "trusted_proxies": ["10.0.0.1", "2001:db8::1", "10.1.2.3/16", "fd00::/8"]
    }))
    .expect("config");
    assert_eq!(config.rate_limit.login.per_ip, Rate::new(2, 2));
    assert_eq!(
        config.rate_limit.refresh,
        RateLimitConfig::default().refresh,
        "unnamed sections keep defaults"
    );
    assert_eq!(config.orgs.invitation_secs, 3600);
    let ranges: Vec<String> = config.trusted_proxies.iter().map(ToString::to_string).collect();
    assert_eq!(
        ranges,
        ["10.0.0.1/32", "2001:db8::1/128", "10.1.0.0/16", "fd00::/8"],
        "an address is a range of one; a range is kept from its network address"
    );
    assert!(
        AuthConfig::default().trusted_proxies.is_empty(),
        "no proxy is trusted by default"
    );
    assert!(config.mfa.key.is_some());
    assert!(
        !format!("{config:?}").contains("KioqKioq"),
        "the MFA key is not printed"
    );

    let limits = RateLimits::new(&config.rate_limit);
    let t0 = Instant::now();
    let login = |ip: &str, account: &str, at| limits.check_at(Endpoint::Login, Some(ip), Some(account), at);
    assert_eq!(login("198.51.100.7", "alice", t0), Ok(()));
    assert_eq!(
        login("198.51.100.8", "ALICE", t0),
        Err(Duration::from_secs(60)),
        "one attempt a minute per account"
    );
    assert_eq!(login("198.51.100.7", "bob", t0), Ok(()));
    assert_eq!(
        login("198.51.100.7", "carol", t0),
        Err(Duration::from_secs(30)),
        "two a minute per IP"
    );
    assert_eq!(
        login("198.51.100.7", "carol", t0 + Duration::from_secs(30)),
        Ok(())
    );
    assert_eq!(
        login("198.51.100.9", "alice", t0 + Duration::from_secs(60)),
        Ok(())
    );
    assert_eq!(
        limits.check_at(Endpoint::Refresh, Some("198.51.100.7"), Some("alice"), t0),
        Ok(())
    );
}

#[test]
fn malformed_sections_are_refused() {
    for bad in [
        serde_json::json!({ "mfa": { "key": "c2hvcnQ=" } }),
        serde_json::json!({ "rate_limit": { "login": { "per_ip": { "per_minute": 1 } } } }),
        serde_json::json!({ "rate_limit": { "logins": {} } }),
        serde_json::json!({ "orgs": { "invitation_days": 7 } }),
        serde_json::json!({ "trusted_proxies": ["proxy.internal"] }),
        serde_json::json!({ "trusted_proxies": ["10.0.0.0/33"] }),
        serde_json::json!({ "trusted_proxies": "10.0.0.1" }),
    ] {
        assert!(
            serde_json::from_value::<AuthConfig>(bad.clone()).is_err(),
            "{bad}"
        );
    }
    let err = serde_json::from_value::<AuthConfig>(serde_json::json!({ "mfa": { "key": "c2hvcnQ=" } }))
        .expect_err("short key")
        .to_string();
    assert!(err.contains("32 bytes"), "{err}");
}
