//! SL010 `dangling-pod-affinity`: podAffinity terms select pods of some workload.
//!
//! (Not implemented yet.)

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL010",
    slug: "dangling-pod-affinity",
    severity: Severity::Warning,
    summary: "podAffinity terms select pods of some workload",
    page: include_str!("../../rules/SL010-dangling-pod-affinity.md"),
};

pub struct DanglingPodAffinity;

impl Rule for DanglingPodAffinity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _object: &Arc<Object>, _cx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}
