//! SL006 `deprecated-api`: apps/v1beta1, apps/v1beta2 and policy/v1beta1 are removed APIs.
//!
//! (Not implemented yet.)

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL006",
    slug: "deprecated-api",
    severity: Severity::Warning,
    summary: "apps/v1beta1, apps/v1beta2 and policy/v1beta1 are removed APIs",
    page: include_str!("../../rules/SL006-deprecated-api.md"),
};

pub struct DeprecatedApi;

impl Rule for DeprecatedApi {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _object: &Arc<Object>, _cx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}
