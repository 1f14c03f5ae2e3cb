//! SL009 `odd-replicas`: ZooKeeper and etcd ensembles have an odd number of replicas.
//!
//! (Not implemented yet.)

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL009",
    slug: "odd-replicas",
    severity: Severity::Warning,
    summary: "ZooKeeper and etcd ensembles have an odd number of replicas",
    page: include_str!("../../rules/SL009-odd-replicas.md"),
};

pub struct OddReplicas;

impl Rule for OddReplicas {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _object: &Arc<Object>, _cx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}
