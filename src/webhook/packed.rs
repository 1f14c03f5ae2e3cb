//! Compact encodings for the watch caches ([`super::cluster`]): an entry held for each of
//! 100,000s of objects is one allocation of bytes instead of a tree of strings, vectors and
//! maps (each with its own allocation and the allocator's rounding).
//!
//! - [`Writer`] / [`Reader`]: strings (length-prefixed, LEB128), numbers and flags one after the
//!   other, read back in the same order (Services, pod labels).
//! - [`pack_value`] / [`unpack_value`]: a JSON value in a binary form where object keys and
//!   common strings are one byte (a StatefulSet projection: 2.4 KB of JSON text become ~0.9 KB).

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Map, Number, Value};

/// Strings and numbers written one after the other into one allocation (an entry of a watch
/// cache holds 100,000s of these: one allocation instead of one per string and per list saves
/// more than half of a Service's memory). Strings are prefixed with their length (LEB128).
#[derive(Default)]
pub struct Writer(Vec<u8>);

impl Writer {
    pub fn u8(&mut self, b: u8) {
        self.0.push(b);
    }
    pub fn varint(&mut self, mut n: usize) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }
    pub fn i32(&mut self, n: i32) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }
    pub fn str(&mut self, s: &str) {
        self.varint(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    /// A flag byte (0 absent, 1 present), then the string.
    pub fn opt_str(&mut self, s: Option<&str>) {
        self.u8(u8::from(s.is_some()));
        if let Some(s) = s {
            self.str(s);
        }
    }
    pub fn pairs<'a>(&mut self, pairs: impl ExactSizeIterator<Item = (&'a str, &'a str)>) {
        self.varint(pairs.len());
        for (k, v) in pairs {
            self.str(k);
            self.str(v);
        }
    }
    /// `None`, an int or a string.
    pub fn int_or_str(&mut self, i: Option<&IntOrString>) {
        match i {
            None => self.u8(0),
            Some(IntOrString::Int(n)) => {
                self.u8(1);
                self.i32(*n);
            }
            Some(IntOrString::String(s)) => {
                self.u8(2);
                self.str(s);
            }
        }
    }
    pub fn finish(self) -> Box<[u8]> {
        self.0.into_boxed_slice()
    }
}

/// Reads what a [`Writer`] wrote, in the same order.
pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().expect("packed entry we wrote");
        self.0 = rest;
        *b
    }
    pub fn varint(&mut self) -> usize {
        let mut n = 0usize;
        let mut shift = 0;
        loop {
            let b = self.u8();
            n |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return n;
            }
            shift += 7;
        }
    }
    pub fn i32(&mut self) -> i32 {
        let (b, rest) = self.0.split_at(4);
        self.0 = rest;
        i32::from_le_bytes(b.try_into().expect("4 bytes"))
    }
    pub fn str(&mut self) -> &'a str {
        let n = self.varint();
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        std::str::from_utf8(b).expect("packed from a str")
    }
    pub fn opt_str(&mut self) -> Option<&'a str> {
        (self.u8() == 1).then(|| self.str())
    }
    pub fn pairs(&mut self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        let n = self.varint();
        (0..n).map(|_| (self.str(), self.str()))
    }
    pub fn int_or_str(&mut self) -> Option<IntOrString> {
        match self.u8() {
            0 => None,
            1 => Some(IntOrString::Int(self.i32())),
            _ => Some(IntOrString::String(self.str().to_string())),
        }
    }
}

pub use crate::heap::alloc_bytes;

/// Strings written as one byte by [`pack_value`]: the keys of the StatefulSet fields the
/// projection keeps, and common values. Append only (packed values are not persisted, but
/// keep the order stable for readability of dumps).
const DICT: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "spec",
    "replicas",
    "serviceName",
    "selector",
    "matchLabels",
    "matchExpressions",
    "key",
    "operator",
    "values",
    "template",
    "containers",
    "initContainers",
    "volumes",
    "securityContext",
    "affinity",
    "topologySpreadConstraints",
    "image",
    "command",
    "args",
    "env",
    "envFrom",
    "value",
    "valueFrom",
    "fieldRef",
    "fieldPath",
    "configMapKeyRef",
    "secretKeyRef",
    "resourceFieldRef",
    "containerName",
    "resource",
    "divisor",
    "optional",
    "prefix",
    "configMapRef",
    "secretRef",
    "ports",
    "containerPort",
    "protocol",
    "hostPort",
    "hostIP",
    "volumeMounts",
    "mountPath",
    "subPath",
    "subPathExpr",
    "readOnly",
    "mountPropagation",
    "recursiveReadOnly",
    "volumeClaimTemplates",
    "accessModes",
    "storageClassName",
    "resources",
    "requests",
    "limits",
    "storage",
    "volumeMode",
    "dataSource",
    "dataSourceRef",
    "configMap",
    "secret",
    "secretName",
    "defaultMode",
    "items",
    "path",
    "mode",
    "emptyDir",
    "medium",
    "sizeLimit",
    "persistentVolumeClaim",
    "claimName",
    "hostPath",
    "type",
    "projected",
    "sources",
    "downwardAPI",
    "serviceAccountToken",
    "expirationSeconds",
    "audience",
    "ephemeral",
    "volumeClaimTemplate",
    "csi",
    "driver",
    "volumeAttributes",
    "nfs",
    "server",
    "podAffinity",
    "podAntiAffinity",
    "nodeAffinity",
    "requiredDuringSchedulingIgnoredDuringExecution",
    "preferredDuringSchedulingIgnoredDuringExecution",
    "weight",
    "podAffinityTerm",
    "labelSelector",
    "topologyKey",
    "namespaces",
    "namespaceSelector",
    "matchLabelKeys",
    "mismatchLabelKeys",
    "nodeSelectorTerms",
    "matchFields",
    "preference",
    "maxSkew",
    "whenUnsatisfiable",
    "minDomains",
    "nodeAffinityPolicy",
    "nodeTaintsPolicy",
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "fsGroup",
    "fsGroupChangePolicy",
    "supplementalGroups",
    "supplementalGroupsPolicy",
    "sysctls",
    "allowPrivilegeEscalation",
    "capabilities",
    "drop",
    "add",
    "readOnlyRootFilesystem",
    "privileged",
    "procMount",
    "seccompProfile",
    "localhostProfile",
    "appArmorProfile",
    "seLinuxOptions",
    "seLinuxChangePolicy",
    "level",
    "role",
    "user",
    "windowsOptions",
    "restartPolicy",
    "v1",
    "apps/v1",
    "StatefulSet",
    "TCP",
    "UDP",
    "ALL",
    "ReadWriteOnce",
    "ReadWriteMany",
    "ReadOnlyMany",
    "Filesystem",
    "Block",
    "RuntimeDefault",
    "Localhost",
    "Unconfined",
    "In",
    "NotIn",
    "Exists",
    "DoesNotExist",
    "kubernetes.io/hostname",
    "topology.kubernetes.io/zone",
    "DoNotSchedule",
    "ScheduleAnyway",
    "metadata.name",
    "metadata.namespace",
    "status.podIP",
    "Always",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    "app",
    "release",
    "component",
    "true",
    "false",
    "data",
    "config",
];

// value tags
const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
/// zigzag LEB128
const INT: u8 = 3;
/// u64 above i64::MAX, 8 bytes
const UINT: u8 = 4;
/// f64, 8 bytes
const FLOAT: u8 = 5;
const STRING: u8 = 6;
const ARRAY: u8 = 7;
const OBJECT: u8 = 8;

fn dict_index() -> &'static std::collections::HashMap<&'static str, usize> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<&'static str, usize>> =
        std::sync::OnceLock::new();
    INDEX.get_or_init(|| DICT.iter().enumerate().map(|(i, s)| (*s, i)).collect())
}

/// A string: `i < DICT.len()` is `DICT[i]`, anything above is a length (`i - DICT.len()`)
/// followed by the bytes.
fn pack_str(w: &mut Writer, s: &str) {
    match dict_index().get(s) {
        Some(i) => w.varint(*i),
        None => {
            w.varint(DICT.len() + s.len());
            w.0.extend_from_slice(s.as_bytes());
        }
    }
}

fn unpack_str(r: &mut Reader<'_>) -> String {
    let i = r.varint();
    match DICT.get(i) {
        Some(s) => (*s).to_string(),
        None => {
            let n = i - DICT.len();
            let (b, rest) = r.0.split_at(n);
            r.0 = rest;
            std::str::from_utf8(b)
                .expect("packed from a str")
                .to_string()
        }
    }
}

/// [`pack_value`] into a [`Writer`], among other fields.
pub fn pack_into(w: &mut Writer, v: &Value) {
    match v {
        Value::Null => w.u8(NULL),
        Value::Bool(false) => w.u8(FALSE),
        Value::Bool(true) => w.u8(TRUE),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                w.u8(INT);
                w.varint(((i << 1) ^ (i >> 63)) as u64 as usize);
            } else if let Some(u) = n.as_u64() {
                w.u8(UINT);
                w.0.extend_from_slice(&u.to_le_bytes());
            } else {
                w.u8(FLOAT);
                let f = n.as_f64().unwrap_or(f64::NAN);
                w.0.extend_from_slice(&f.to_le_bytes());
            }
        }
        Value::String(s) => {
            w.u8(STRING);
            pack_str(w, s);
        }
        Value::Array(items) => {
            w.u8(ARRAY);
            w.varint(items.len());
            for x in items {
                pack_into(w, x);
            }
        }
        Value::Object(m) => {
            w.u8(OBJECT);
            w.varint(m.len());
            for (k, x) in m {
                pack_str(w, k);
                pack_into(w, x);
            }
        }
    }
}

/// Reads what [`pack_into`] wrote.
pub fn unpack_from(r: &mut Reader<'_>) -> Value {
    let eight = |r: &mut Reader<'_>| -> [u8; 8] {
        let (b, rest) = r.0.split_at(8);
        r.0 = rest;
        b.try_into().expect("8 bytes")
    };
    match r.u8() {
        NULL => Value::Null,
        FALSE => Value::Bool(false),
        TRUE => Value::Bool(true),
        INT => {
            let z = r.varint() as u64;
            Value::from(((z >> 1) as i64) ^ -((z & 1) as i64))
        }
        UINT => Value::from(u64::from_le_bytes(eight(r))),
        FLOAT => Number::from_f64(f64::from_le_bytes(eight(r))).map_or(Value::Null, Value::Number),
        STRING => Value::String(unpack_str(r)),
        ARRAY => {
            let n = r.varint();
            Value::Array((0..n).map(|_| unpack_from(r)).collect())
        }
        OBJECT => {
            let n = r.varint();
            let mut m = Map::new();
            for _ in 0..n {
                let k = unpack_str(r);
                let v = unpack_from(r);
                m.insert(k, v);
            }
            Value::Object(m)
        }
        t => unreachable!("packed value tag {t} we did not write"),
    }
}

/// `v` in the compact binary form (see the module docs).
pub fn pack_value(v: &Value) -> Box<[u8]> {
    let mut w = Writer::default();
    pack_into(&mut w, v);
    w.finish()
}

/// The value [`pack_value`] packed.
pub fn unpack_value(b: &[u8]) -> Value {
    unpack_from(&mut Reader(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip() {
        let long = "x".repeat(300);
        let v = json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet", "unknown key": [1, -1, 0, i64::MIN,
            i64::MAX, u64::MAX, 1.5, -0.25, 1e300], "nested": {"a": [[], {}, null, true, false]},
            "text": "zoo.cfg: ünïcödé ✓ \u{0}", "long": long, "TCP": "TCP", "": ""
        });
        let packed = pack_value(&v);
        assert_eq!(unpack_value(&packed), v);
        assert!(packed.len() < v.to_string().len());
    }

    #[test]
    fn fields_round_trip() {
        let long = "k".repeat(200);
        let mut w = Writer::default();
        w.pairs([("a", "1"), (long.as_str(), "")].into_iter());
        w.opt_str(None);
        w.opt_str(Some("None"));
        w.i32(-7);
        w.int_or_str(Some(&IntOrString::String("client".into())));
        w.int_or_str(Some(&IntOrString::Int(2181)));
        w.int_or_str(None);
        let b = w.finish();
        let mut r = Reader(&b);
        assert_eq!(
            r.pairs().collect::<Vec<_>>(),
            [("a", "1"), (long.as_str(), "")]
        );
        assert_eq!(r.opt_str(), None);
        assert_eq!(r.opt_str(), Some("None"));
        assert_eq!(r.i32(), -7);
        assert_eq!(r.int_or_str(), Some(IntOrString::String("client".into())));
        assert_eq!(r.int_or_str(), Some(IntOrString::Int(2181)));
        assert_eq!(r.int_or_str(), None);
        assert!(r.0.is_empty());
    }
}
