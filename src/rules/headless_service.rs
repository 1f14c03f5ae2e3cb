//! SL001 `headless-service`: StatefulSet has a headless Service (clusterIP: None, selecting its pods) named by spec.serviceName.
//!
//! (Not implemented yet.)

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL001",
    slug: "headless-service",
    severity: Severity::Error,
    summary: "StatefulSet has a headless Service (clusterIP: None, selecting its pods) named by spec.serviceName",
    page: include_str!("../../rules/SL001-headless-service.md"),
};

pub struct HeadlessService;

impl Rule for HeadlessService {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _object: &Arc<Object>, _cx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}
