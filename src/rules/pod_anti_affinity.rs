//! SL003 `pod-anti-affinity`: replicas are spread over nodes by pod anti-affinity on their own labels.
//!
//! (Not implemented yet.)

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL003",
    slug: "pod-anti-affinity",
    severity: Severity::Error,
    summary: "replicas are spread over nodes by pod anti-affinity on their own labels",
    page: include_str!("../../rules/SL003-pod-anti-affinity.md"),
};

pub struct PodAntiAffinity;

impl Rule for PodAntiAffinity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _object: &Arc<Object>, _cx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}
