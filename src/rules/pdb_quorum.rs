//! SL002 `pdb-quorum`: exactly one PodDisruptionBudget selects the pods and keeps a quorum available.
//!
//! (Not implemented yet.)

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL002",
    slug: "pdb-quorum",
    severity: Severity::Error,
    summary: "exactly one PodDisruptionBudget selects the pods and keeps a quorum available",
    page: include_str!("../../rules/SL002-pdb-quorum.md"),
};

pub struct PdbQuorum;

impl Rule for PdbQuorum {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _object: &Arc<Object>, _cx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}
