//! Roles with Taskcluster's semantics: holding `assume:R` grants role R's
//! scopes, recursively; a role id ending in `*` is assumed by every
//! `assume:<prefix>…` scope, and `<..>` in its scopes is replaced by the part
//! that matched the `*`. A set of roles whose references form a cycle is
//! refused, so expansion always terminates.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::scope::{self, grants};
use crate::{Error, Result};

/// The parameter placeholder in a parameterised role's scopes.
pub const PARAM: &str = "<..>";

/// Upper bound on the scopes one expansion may produce.
pub const MAX_EXPANDED: usize = 50_000;

/// A role: an id and the scopes it grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// The role id, e.g. `repo-admin:acme/*`.
    pub id: String,
    /// The scopes the role grants.
    pub scopes: Vec<String>,
}

/// A consistent set of roles, ready to expand scopes.
#[derive(Debug, Clone, Default)]
pub struct RoleSet {
    roles: Vec<Role>,
}

/// How a scope assumes a role: whether it does, and with which parameter.
fn assumes(held: &str, role_id: &str) -> Option<String> {
    match role_id.strip_suffix('*') {
        Some(prefix) => {
            let pattern = format!("assume:{prefix}");
            if let Some(param) = held.strip_prefix(&pattern) {
                Some(param.to_owned())
            } else if held.strip_suffix('*').is_some_and(|h| pattern.starts_with(h)) {
                Some("*".to_owned())
            } else {
                None
            }
        }
        None => grants(held, &format!("assume:{role_id}")).then(String::new),
    }
}

/// `scope` with the role parameter substituted; a parameter ending in `*`
/// ends the scope there (anything after the placeholder is covered by it).
fn substitute(scope: &str, param: &str) -> String {
    match scope.find(PARAM) {
        None => scope.to_owned(),
        Some(i) if param.ends_with('*') => format!("{}{param}", &scope[..i]),
        Some(_) => scope.replace(PARAM, param),
    }
}

impl RoleSet {
    /// Builds the set, validating ids and scopes and refusing cycles (a role
    /// that, directly or through others, assumes itself).
    pub fn new(roles: Vec<Role>) -> Result<Self> {
        for role in &roles {
            validate_id(&role.id)?;
            scope::validate_all(&role.scopes)?;
        }
        let set = Self { roles };
        set.check_cycles()?;
        Ok(set)
    }

    /// The roles, in the order given.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// `scopes` plus every scope granted through the roles they assume,
    /// normalised.
    pub fn expand(&self, scopes: &[String]) -> Vec<String> {
        let mut seen: HashSet<String> = scopes.iter().cloned().collect();
        let mut queue: Vec<String> = scopes.to_vec();
        while let Some(held) = queue.pop() {
            for role in &self.roles {
                let Some(param) = assumes(&held, &role.id) else {
                    continue;
                };
                for granted in &role.scopes {
                    let s = substitute(granted, &param);
                    if seen.len() < MAX_EXPANDED && seen.insert(s.clone()) {
                        queue.push(s);
                    }
                }
            }
        }
        scope::normalize(seen)
    }

    /// Refuses role references that form a cycle. A scope that starts with
    /// `assume:` references every role it could assume, with `<..>` read as `*`.
    fn check_cycles(&self) -> Result<()> {
        let edges: HashMap<&str, Vec<&str>> = self
            .roles
            .iter()
            .map(|r| {
                let targets = r
                    .scopes
                    .iter()
                    .filter(|s| s.starts_with("assume:"))
                    .map(|s| substitute(s, "*"))
                    .flat_map(|s| {
                        self.roles
                            .iter()
                            .filter(move |t| assumes(&s, &t.id).is_some())
                            .map(|t| t.id.as_str())
                    })
                    .collect();
                (r.id.as_str(), targets)
            })
            .collect();
        // Depth-first search with colours: 1 = on the current path, 2 = done.
        let mut colour: HashMap<&str, u8> = HashMap::new();
        for start in self.roles.iter().map(|r| r.id.as_str()) {
            let mut path: Vec<(&str, usize)> = vec![(start, 0)];
            if colour.contains_key(start) {
                continue;
            }
            colour.insert(start, 1);
            while let Some((node, next)) = path.last().copied() {
                let targets = edges.get(node).map(Vec::as_slice).unwrap_or_default();
                if let Some(&target) = targets.get(next) {
                    if let Some(top) = path.last_mut() {
                        top.1 += 1;
                    }
                    match colour.get(target) {
                        Some(1) => {
                            let mut cycle: Vec<&str> = path.iter().map(|(n, _)| *n).collect();
                            let from = cycle.iter().position(|n| *n == target).unwrap_or(0);
                            cycle.drain(..from);
                            cycle.push(target);
                            return Err(Error::Invalid(format!("role cycle: {}", cycle.join(" -> "))));
                        }
                        Some(_) => {}
                        None => {
                            colour.insert(target, 1);
                            path.push((target, 0));
                        }
                    }
                } else {
                    colour.insert(node, 2);
                    path.pop();
                }
            }
        }
        Ok(())
    }
}

/// Checks a role id: a valid scope suffix, with `*` only at the end.
pub fn validate_id(id: &str) -> Result<()> {
    scope::validate(id)?;
    if id.is_empty() || id.trim_end_matches('*').contains('*') {
        return Err(Error::Invalid(format!(
            "role id `{id}` must be non-empty with `*` only at the end"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    fn role(id: &str, scopes: &[&str]) -> Role {
        Role {
            id: id.to_owned(),
            scopes: v(scopes),
        }
    }

    #[test]
    fn assume_grants_role_scopes_recursively() {
        let set = RoleSet::new(vec![
            role("dev", &["queue:create-task:build", "assume:reader"]),
            role("reader", &["files:read:*"]),
        ])
        .expect("roles");
        assert_eq!(
            set.expand(&v(&["assume:dev"])),
            v(&[
                "assume:dev",
                "assume:reader",
                "files:read:*",
                "queue:create-task:build"
            ])
        );
        assert_eq!(set.expand(&v(&["other"])), v(&["other"]));
    }

    #[test]
    fn star_role_ids_are_parameterised() {
        let set = RoleSet::new(vec![role(
            "repo:*",
            &["repos:push:<..>", "files:write:<..>/uploads"],
        )])
        .expect("roles");
        let got = set.expand(&v(&["assume:repo:acme/site"]));
        assert!(got.contains(&"repos:push:acme/site".to_owned()), "{got:?}");
        assert!(
            got.contains(&"files:write:acme/site/uploads".to_owned()),
            "{got:?}"
        );
        // A wildcard parameter ends the scope at the placeholder.
        let got = set.expand(&v(&["assume:repo:acme/*"]));
        assert!(got.contains(&"repos:push:acme/*".to_owned()), "{got:?}");
        assert!(got.contains(&"files:write:acme/*".to_owned()), "{got:?}");
        // A held wildcard covering the role prefix assumes it with `*`.
        let got = set.expand(&v(&["assume:re*"]));
        assert!(got.contains(&"repos:push:*".to_owned()), "{got:?}");
    }

    #[test]
    fn held_wildcards_assume_matching_roles() {
        let set = RoleSet::new(vec![
            role("team:a", &["x"]),
            role("team:b", &["y"]),
            role("other", &["z"]),
        ])
        .expect("roles");
        assert_eq!(
            set.expand(&v(&["assume:team:*"])),
            v(&["assume:team:*", "x", "y"])
        );
    }

    #[test]
    fn cycles_are_rejected_including_through_parameters() {
        let direct = RoleSet::new(vec![role("a", &["assume:b"]), role("b", &["assume:a"])]);
        let msg = direct.expect_err("cycle").to_string();
        assert!(
            msg.contains("a -> b -> a") || msg.contains("b -> a -> b"),
            "{msg}"
        );
        assert!(RoleSet::new(vec![role("self", &["assume:self"])]).is_err());
        // A parameterised role that assumes a longer version of itself would never end.
        assert!(RoleSet::new(vec![role("grow*", &["assume:grow<..>x"])]).is_err());
        assert!(
            RoleSet::new(vec![
                role("a", &["assume:b"]),
                role("b", &["assume:c"]),
                role("c", &["x"])
            ])
            .is_ok()
        );
    }

    #[test]
    fn bad_ids_and_scopes_are_rejected() {
        assert!(RoleSet::new(vec![role("a*b", &[])]).is_err());
        assert!(RoleSet::new(vec![role("", &[])]).is_err());
        assert!(RoleSet::new(vec![role("a", &["x**"])]).is_err());
    }
}
