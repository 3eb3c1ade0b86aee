//! Scopes with Taskcluster's semantics: a scope is a printable string, a
//! trailing `*` matches any suffix, and requirements are expressions of
//! `AllOf` / `AnyOf`.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Longest accepted scope.
pub const MAX_SCOPE_LEN: usize = 500;

/// Checks that `scope` is printable ASCII, not too long, and does not end in `**`.
pub fn validate(scope: &str) -> Result<()> {
    if scope.len() > MAX_SCOPE_LEN {
        return Err(Error::Invalid(format!(
            "scope longer than {MAX_SCOPE_LEN} characters"
        )));
    }
    if !scope.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(Error::Invalid(format!(
            "scope `{}` must be printable ASCII",
            scope.escape_default()
        )));
    }
    if scope.ends_with("**") {
        return Err(Error::Invalid(format!(
            "scope `{scope}` ends in `**`; use a single trailing `*`"
        )));
    }
    Ok(())
}

/// Validates every scope of a list.
pub fn validate_all<S: AsRef<str>>(scopes: &[S]) -> Result<()> {
    scopes.iter().try_for_each(|s| validate(s.as_ref()))
}

/// Whether the held scope `held` grants `required` (equal, or `held` ends in
/// `*` and `required` starts with what precedes it).
pub fn grants(held: &str, required: &str) -> bool {
    match held.strip_suffix('*') {
        Some(prefix) => required.starts_with(prefix),
        None => held == required,
    }
}

/// Whether any scope in `held` grants `required`.
pub fn satisfied(held: &[String], required: &str) -> bool {
    held.iter().any(|h| grants(h, required))
}

/// A scope requirement: one scope, all of several, or any of several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ScopeExpr {
    /// This scope must be held.
    Scope(String),
    /// Every sub-expression must hold.
    All {
        /// The sub-expressions.
        #[serde(rename = "AllOf")]
        all_of: Vec<ScopeExpr>,
    },
    /// At least one sub-expression must hold.
    Any {
        /// The sub-expressions.
        #[serde(rename = "AnyOf")]
        any_of: Vec<ScopeExpr>,
    },
}

impl ScopeExpr {
    /// Requires `scope`.
    pub fn scope(scope: impl Into<String>) -> Self {
        Self::Scope(scope.into())
    }

    /// Requires all of `exprs`.
    pub fn all_of(exprs: impl IntoIterator<Item = ScopeExpr>) -> Self {
        Self::All {
            all_of: exprs.into_iter().collect(),
        }
    }

    /// Requires any of `exprs`.
    pub fn any_of(exprs: impl IntoIterator<Item = ScopeExpr>) -> Self {
        Self::Any {
            any_of: exprs.into_iter().collect(),
        }
    }

    /// Whether `held` satisfies the expression. `AnyOf []` is never satisfied; `AllOf []` always is.
    pub fn satisfied_by(&self, held: &[String]) -> bool {
        match self {
            Self::Scope(s) => satisfied(held, s),
            Self::All { all_of } => all_of.iter().all(|e| e.satisfied_by(held)),
            Self::Any { any_of } => any_of.iter().any(|e| e.satisfied_by(held)),
        }
    }

    /// The scopes that would have to be added to satisfy the expression (for
    /// `AnyOf`, those of its first alternative), empty when satisfied.
    pub fn missing(&self, held: &[String]) -> Vec<String> {
        match self {
            _ if self.satisfied_by(held) => Vec::new(),
            Self::Scope(s) => vec![s.clone()],
            Self::All { all_of } => all_of.iter().flat_map(|e| e.missing(held)).collect(),
            Self::Any { any_of } => any_of.first().map(|e| e.missing(held)).unwrap_or_default(),
        }
    }
}

impl From<&str> for ScopeExpr {
    fn from(s: &str) -> Self {
        Self::Scope(s.to_owned())
    }
}

/// Sorts, deduplicates and drops every scope granted by another in the set.
pub fn normalize(scopes: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut all: Vec<String> = scopes.into_iter().collect();
    all.sort();
    all.dedup();
    let kept: Vec<String> = all
        .iter()
        .filter(|s| !all.iter().any(|other| other != *s && grants(other, s)))
        .cloned()
        .collect();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn star_matches_any_suffix() {
        assert!(grants("queue:*", "queue:create-task:build"));
        assert!(grants("queue:*", "queue:"));
        assert!(grants("*", "anything"));
        assert!(grants("a", "a"));
        assert!(!grants("a", "ab"));
        assert!(!grants("queue:create*", "queue:claim"));
        // A star in the middle is literal.
        assert!(!grants("a*b", "axb"));
        assert!(grants("a*b", "a*b"));
    }

    #[test]
    fn validation_rejects_double_star_and_unprintables() {
        assert!(validate("queue:*").is_ok());
        assert!(validate("queue:**").is_err());
        assert!(validate("bad\nscope").is_err());
        assert!(validate(&"x".repeat(MAX_SCOPE_LEN + 1)).is_err());
    }

    #[test]
    fn expressions_are_evaluated_and_explain_what_is_missing() {
        let held = v(&["files:read:*", "queue:claim-work:build"]);
        let expr: ScopeExpr = serde_json::from_str(
            r#"{"AllOf": ["files:read:photos", {"AnyOf": ["queue:claim-work:test", "admin"]}]}"#,
        )
        .expect("parse");
        assert!(!expr.satisfied_by(&held));
        assert_eq!(expr.missing(&held), v(&["queue:claim-work:test"]));
        let ok = ScopeExpr::any_of(["admin".into(), "queue:claim-work:build".into()]);
        assert!(ok.satisfied_by(&held));
        assert!(ok.missing(&held).is_empty());
        assert!(ScopeExpr::all_of([]).satisfied_by(&[]));
        assert!(!ScopeExpr::any_of([]).satisfied_by(&held));
    }

    #[test]
    fn normalization_drops_covered_scopes() {
        assert_eq!(
            normalize(v(&["b", "a*", "abc", "a", "b", "ab*"])),
            v(&["a*", "b"])
        );
        assert_eq!(normalize(v(&["*", "x"])), v(&["*"]));
    }
}
