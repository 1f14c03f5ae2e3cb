//! SL007 `unreplaced-placeholder`: no template placeholder such as <NAMESPACE> is left in a StatefulSet, Service or PDB.
//!
//! (Not implemented yet.)

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL007",
    slug: "unreplaced-placeholder",
    severity: Severity::Error,
    summary: "no template placeholder such as <NAMESPACE> is left in a StatefulSet, Service or PDB",
    page: include_str!("../../rules/SL007-unreplaced-placeholder.md"),
};

pub struct UnreplacedPlaceholder;

impl Rule for UnreplacedPlaceholder {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _object: &Arc<Object>, _cx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}
