//! SL005 `zookeeper-connect`: Kafka's zookeeper.connect names a real ZooKeeper ensemble, namespace, host and port.
//!
//! (Not implemented yet.)

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL005",
    slug: "zookeeper-connect",
    severity: Severity::Error,
    summary: "Kafka's zookeeper.connect names a real ZooKeeper ensemble, namespace, host and port",
    page: include_str!("../../rules/SL005-zookeeper-connect.md"),
};

pub struct ZookeeperConnect;

impl Rule for ZookeeperConnect {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, _object: &Arc<Object>, _cx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
}
