//! SL004 `volume-claim-storage-class`: data lives on mounted volume claim templates with an allowed storage class.
//!
//! (Not implemented yet.)

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL004",
    slug: "volume-claim-storage-class",
    severity: Severity::Error,
    summary: "data lives on mounted volume claim templates with an allowed storage class",
    page: include_str!("../../rules/SL004-volume-claim-storage-class.md"),
};

pub struct VolumeClaimStorageClass;

impl Rule for VolumeClaimStorageClass {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _object: &Arc<Object>, _cx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}
