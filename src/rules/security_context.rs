//! SL008 `security-context`: pods with volumes set fsGroup and a non-root runAsUser.
//!
//! (Not implemented yet.)

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL008",
    slug: "security-context",
    severity: Severity::Warning,
    summary: "pods with volumes set fsGroup and a non-root runAsUser",
    page: include_str!("../../rules/SL008-security-context.md"),
};

pub struct SecurityContext;

impl Rule for SecurityContext {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _object: &Arc<Object>, _cx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}
