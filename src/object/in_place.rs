//! k8s-openapi structs read from JSON in place, field by field, for the webhook's one-pass read
//! of a StatefulSet ([`super::FastStatefulSet`]).
//!
//! k8s-openapi's own visitors build each struct on the stack and return it by value, through
//! `Option`, `Vec` growth and every enclosing struct: a `Container` is 2.1 KB, a `Volume`
//! 3.2 KB, a `PodSpec` 1.4 KB, and each was copied four or five times per review (a tenth of
//! an admission's instructions, and as much memory traffic). Here the big ones are written
//! where they live. Each field is read as k8s-openapi reads it: the last of a repeated field is
//! kept, a `null` required field is its default, an unknown field is skipped. The tests in
//! `object.rs` check that both give the same object.

use std::borrow::Cow;

use k8s_openapi::api::apps::v1::StatefulSetSpec;
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A struct that can be read in place.
pub(crate) trait Fill: Default {
    /// What it is, for error messages.
    const WHAT: &'static str;
    /// Read the value of field `key` into `self` (or skip it: an unknown field).
    fn fill_field<'de, M: MapAccess<'de>>(&mut self, key: &str, m: &mut M) -> Result<(), M::Error>;
}

/// Read the fields of a JSON object into `o`, skipping those named in `skip`.
fn fill_map<'de, T: Fill, M: MapAccess<'de>>(
    o: &mut T,
    mut m: M,
    skip: &[&str],
) -> Result<(), M::Error> {
    while let Some(Key(key)) = m.next_key()? {
        if skip.contains(&key.as_ref()) {
            m.next_value::<IgnoredAny>()?;
        } else {
            o.fill_field(&key, &mut m)?;
        }
    }
    Ok(())
}

/// A field name, borrowed from the input unless it holds an escape.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// What a seed below does with a value that is not `null`, once it has reset its place.
trait NonNull<'de> {
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result;
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error>;
}

/// A nullable value: `null` leaves the place as its seed reset it (a required field's default,
/// an optional one's `None`), anything else is read by `S`.
struct Nullable<S>(S);

impl<'de, S: NonNull<'de>> Visitor<'de> for Nullable<S> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.expecting(f)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.read(d)
    }
}

/// The fields of a JSON object read into `T`, those in `skip` ignored.
struct Fields<'a, T> {
    into: &'a mut T,
    skip: &'static [&'static str],
}

impl<'de, T: Fill> Visitor<'de> for Fields<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(T::WHAT)
    }
    fn visit_map<M: MapAccess<'de>>(self, m: M) -> Result<(), M::Error> {
        fill_map(self.into, m, self.skip)
    }
}

/// The elements of a JSON list read into `Vec<T>`, each where it lives.
struct Items<'a, T>(&'a mut Vec<T>);

impl<'de, T: Fill> Visitor<'de> for Items<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a list of {}", T::WHAT)
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<(), S::Error> {
        // room for the usual handful at once, not one by one (each growth moves them all)
        self.0.reserve(s.size_hint().unwrap_or(0).clamp(2, 16));
        loop {
            self.0.push(T::default());
            let into = self.0.last_mut().expect("just pushed");
            // an element is a struct, never null (k8s-openapi's error too)
            if s.next_element_seed(Element(into))?.is_none() {
                self.0.pop();
                return Ok(());
            }
        }
    }
}

/// One element of an [`Items`] list.
struct Element<'a, T>(&'a mut T);

impl<'de, T: Fill> DeserializeSeed<'de> for Element<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(Fields {
            into: self.0,
            skip: &[],
        })
    }
}

/// A struct (a JSON object) read into `T` in place, the fields in `skip` ignored.
/// `null` leaves `T`'s default (a required struct field, as k8s-openapi reads it).
pub(crate) struct Into<'a, T> {
    pub(crate) into: &'a mut T,
    pub(crate) skip: &'static [&'static str],
}

impl<'de, T: Fill> DeserializeSeed<'de> for Into<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // a repeated field replaces the first value whole
        *self.into = T::default();
        d.deserialize_option(Nullable(self))
    }
}

impl<'de, T: Fill> NonNull<'de> for Into<'_, T> {
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(T::WHAT)
    }
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(Fields {
            into: self.into,
            skip: self.skip,
        })
    }
}

/// An optional struct read in place: `null` is `None`.
pub(crate) struct OptInto<'a, T>(pub(crate) &'a mut Option<T>);

impl<'de, T: Fill> DeserializeSeed<'de> for OptInto<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        *self.0 = None;
        d.deserialize_option(Nullable(self))
    }
}

impl<'de, T: Fill> NonNull<'de> for OptInto<'_, T> {
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(T::WHAT)
    }
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(Fields {
            into: self.0.insert(T::default()),
            skip: &[],
        })
    }
}

/// A list of structs, each read in place where it lives in the `Vec`: `null` is an empty list
/// (a required list field, as k8s-openapi reads it).
struct VecInto<'a, T>(&'a mut Vec<T>);

impl<'de, T: Fill> DeserializeSeed<'de> for VecInto<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.clear();
        d.deserialize_option(Nullable(self))
    }
}

impl<'de, T: Fill> NonNull<'de> for VecInto<'_, T> {
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a list of {}", T::WHAT)
    }
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(Items(self.0))
    }
}

/// An optional list of structs read in place: `null` is `None`.
struct OptVecInto<'a, T>(&'a mut Option<Vec<T>>);

impl<'de, T: Fill> DeserializeSeed<'de> for OptVecInto<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        *self.0 = None;
        d.deserialize_option(Nullable(self))
    }
}

impl<'de, T: Fill> NonNull<'de> for OptVecInto<'_, T> {
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a list of {}", T::WHAT)
    }
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(Items(self.0.insert(Vec::new())))
    }
}

/// `impl Fill` for a k8s-openapi struct: each JSON field name, its Rust field and how it is
/// read: `opt` an optional field (`Option<T>`, by value), `req` a required one (by value,
/// `null` its default), `into` / `opt_into` a struct in place, `vec_into` / `opt_vec_into` a
/// list of structs in place.
macro_rules! fill {
    ($ty:ty, $what:literal, { $($key:literal => $field:ident $how:ident),* $(,)? }) => {
        impl Fill for $ty {
            const WHAT: &'static str = $what;
            fn fill_field<'de, M: MapAccess<'de>>(
                &mut self,
                key: &str,
                m: &mut M,
            ) -> Result<(), M::Error> {
                match key {
                    $($key => fill!(@read self.$field, m, $how),)*
                    _ => {
                        m.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(())
            }
        }
    };
    (@read $place:expr, $m:ident, opt) => { $place = $m.next_value()? };
    (@read $place:expr, $m:ident, req) => {
        $place = $m.next_value::<Option<_>>()?.unwrap_or_default()
    };
    (@read $place:expr, $m:ident, into) => {
        $m.next_value_seed(Into { into: &mut $place, skip: &[] })?
    };
    (@read $place:expr, $m:ident, opt_into) => { $m.next_value_seed(OptInto(&mut $place))? };
    (@read $place:expr, $m:ident, vec_into) => { $m.next_value_seed(VecInto(&mut $place))? };
    (@read $place:expr, $m:ident, opt_vec_into) => {
        $m.next_value_seed(OptVecInto(&mut $place))?
    };
}

fill!(ObjectMeta, "an ObjectMeta", {
    "annotations" => annotations opt,
    "creationTimestamp" => creation_timestamp opt,
    "deletionGracePeriodSeconds" => deletion_grace_period_seconds opt,
    "deletionTimestamp" => deletion_timestamp opt,
    "finalizers" => finalizers opt,
    "generateName" => generate_name opt,
    "generation" => generation opt,
    "labels" => labels opt,
    "managedFields" => managed_fields opt,
    "name" => name opt,
    "namespace" => namespace opt,
    "ownerReferences" => owner_references opt,
    "resourceVersion" => resource_version opt,
    "selfLink" => self_link opt,
    "uid" => uid opt,
});

fill!(StatefulSetSpec, "a StatefulSetSpec", {
    "minReadySeconds" => min_ready_seconds opt,
    "ordinals" => ordinals opt,
    "persistentVolumeClaimRetentionPolicy" => persistent_volume_claim_retention_policy opt,
    "podManagementPolicy" => pod_management_policy opt,
    "replicas" => replicas opt,
    "revisionHistoryLimit" => revision_history_limit opt,
    "selector" => selector req,
    "serviceName" => service_name opt,
    "template" => template into,
    "updateStrategy" => update_strategy opt,
    "volumeClaimTemplates" => volume_claim_templates opt,
});

fill!(PodTemplateSpec, "a PodTemplateSpec", {
    "metadata" => metadata opt_into,
    "spec" => spec opt_into,
});

fill!(PodSpec, "a PodSpec", {
    "activeDeadlineSeconds" => active_deadline_seconds opt,
    "affinity" => affinity opt,
    "automountServiceAccountToken" => automount_service_account_token opt,
    "containers" => containers vec_into,
    "dnsConfig" => dns_config opt,
    "dnsPolicy" => dns_policy opt,
    "enableServiceLinks" => enable_service_links opt,
    "ephemeralContainers" => ephemeral_containers opt,
    "hostAliases" => host_aliases opt,
    "hostIPC" => host_ipc opt,
    "hostNetwork" => host_network opt,
    "hostPID" => host_pid opt,
    "hostUsers" => host_users opt,
    "hostname" => hostname opt,
    "imagePullSecrets" => image_pull_secrets opt,
    "initContainers" => init_containers opt_vec_into,
    "nodeName" => node_name opt,
    "nodeSelector" => node_selector opt,
    "os" => os opt,
    "overhead" => overhead opt,
    "preemptionPolicy" => preemption_policy opt,
    "priority" => priority opt,
    "priorityClassName" => priority_class_name opt,
    "readinessGates" => readiness_gates opt,
    "resourceClaims" => resource_claims opt,
    "resources" => resources opt,
    "restartPolicy" => restart_policy opt,
    "runtimeClassName" => runtime_class_name opt,
    "schedulerName" => scheduler_name opt,
    "schedulingGates" => scheduling_gates opt,
    "securityContext" => security_context opt,
    "serviceAccount" => service_account opt,
    "serviceAccountName" => service_account_name opt,
    "setHostnameAsFQDN" => set_hostname_as_fqdn opt,
    "shareProcessNamespace" => share_process_namespace opt,
    "subdomain" => subdomain opt,
    "terminationGracePeriodSeconds" => termination_grace_period_seconds opt,
    "tolerations" => tolerations opt,
    "topologySpreadConstraints" => topology_spread_constraints opt,
    "volumes" => volumes opt_vec_into,
});

fill!(Container, "a Container", {
    "args" => args opt,
    "command" => command opt,
    "env" => env opt,
    "envFrom" => env_from opt,
    "image" => image opt,
    "imagePullPolicy" => image_pull_policy opt,
    "lifecycle" => lifecycle opt,
    "livenessProbe" => liveness_probe opt,
    "name" => name req,
    "ports" => ports opt,
    "readinessProbe" => readiness_probe opt,
    "resizePolicy" => resize_policy opt,
    "resources" => resources opt,
    "restartPolicy" => restart_policy opt,
    "securityContext" => security_context opt,
    "startupProbe" => startup_probe opt,
    "stdin" => stdin opt,
    "stdinOnce" => stdin_once opt,
    "terminationMessagePath" => termination_message_path opt,
    "terminationMessagePolicy" => termination_message_policy opt,
    "tty" => tty opt,
    "volumeDevices" => volume_devices opt,
    "volumeMounts" => volume_mounts opt,
    "workingDir" => working_dir opt,
});

fill!(Volume, "a Volume", {
    "awsElasticBlockStore" => aws_elastic_block_store opt,
    "azureDisk" => azure_disk opt,
    "azureFile" => azure_file opt,
    "cephfs" => cephfs opt,
    "cinder" => cinder opt,
    "configMap" => config_map opt,
    "csi" => csi opt,
    "downwardAPI" => downward_api opt,
    "emptyDir" => empty_dir opt,
    "ephemeral" => ephemeral opt,
    "fc" => fc opt,
    "flexVolume" => flex_volume opt,
    "flocker" => flocker opt,
    "gcePersistentDisk" => gce_persistent_disk opt,
    "gitRepo" => git_repo opt,
    "glusterfs" => glusterfs opt,
    "hostPath" => host_path opt,
    "image" => image opt,
    "iscsi" => iscsi opt,
    "name" => name req,
    "nfs" => nfs opt,
    "persistentVolumeClaim" => persistent_volume_claim opt,
    "photonPersistentDisk" => photon_persistent_disk opt,
    "portworxVolume" => portworx_volume opt,
    "projected" => projected opt,
    "quobyte" => quobyte opt,
    "rbd" => rbd opt,
    "scaleIO" => scale_io opt,
    "secret" => secret opt,
    "storageos" => storageos opt,
    "vsphereVolume" => vsphere_volume opt,
});
