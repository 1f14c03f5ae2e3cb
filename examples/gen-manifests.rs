//! Benchmark input generator: `cargo run --release --example gen-manifests -- N DIR [SEED]`.
//!
//! Writes N StatefulSets spread over namespaces, each in its own file with its headless
//! Service and PodDisruptionBudget; every fifth app is a ZooKeeper + Kafka pair wired through
//! `zookeeper.connect`. A quarter of the apps are broken in varied ways (missing Service, PDB
//! below quorum, no anti-affinity, no storage class, wrong ZooKeeper namespace, placeholder
//! left in). Output is deterministic for a given seed.

use std::fmt::Write as _;
use std::path::PathBuf;

/// Small deterministic PRNG (SplitMix64), so the generator needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Break {
    None,
    NoService,
    NotHeadless,
    PdbBelowQuorum,
    NoPdb,
    NoAntiAffinity,
    NoStorageClass,
    Unmounted,
    ZkWrongNamespace,
    Placeholder,
}

const BREAKS: [Break; 9] = [
    Break::NoService,
    Break::NotHeadless,
    Break::PdbBelowQuorum,
    Break::NoPdb,
    Break::NoAntiAffinity,
    Break::NoStorageClass,
    Break::Unmounted,
    Break::ZkWrongNamespace,
    Break::Placeholder,
];

#[allow(clippy::too_many_arguments)]
fn statefulset(
    out: &mut String,
    name: &str,
    ns: &str,
    replicas: u64,
    image: &str,
    port: u16,
    b: Break,
    extra_container: &str,
) {
    let anti = if b == Break::NoAntiAffinity {
        String::new()
    } else {
        format!(
            "      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchExpressions:
              - key: app
                operator: In
                values:
                - {name}
            topologyKey: kubernetes.io/hostname
"
        )
    };
    let class = if b == Break::NoStorageClass {
        String::new()
    } else {
        "      storageClassName: glusterfs-storage\n".to_string()
    };
    let mount = if b == Break::Unmounted {
        "scratch"
    } else {
        "datadir"
    };
    let _ = write!(
        out,
        "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app: {name}
    team: data
spec:
  serviceName: {name}-hs
  replicas: {replicas}
  podManagementPolicy: Parallel
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
        team: data
      annotations:
        prometheus.io/scrape: \"true\"
        prometheus.io/port: \"9404\"
    spec:
      terminationGracePeriodSeconds: 300
      containers:
      - name: main
        image: registry.example.com/data/{image}
        imagePullPolicy: IfNotPresent
        resources:
          requests:
            memory: 1Gi
            cpu: 500m
          limits:
            memory: 2Gi
        ports:
        - containerPort: {port}
          name: client
{extra_container}        readinessProbe:
          tcpSocket:
            port: {port}
          initialDelaySeconds: 10
          timeoutSeconds: 5
        livenessProbe:
          tcpSocket:
            port: {port}
          initialDelaySeconds: 10
          timeoutSeconds: 5
        volumeMounts:
        - name: {mount}
          mountPath: /var/lib/{name}
      securityContext:
        runAsUser: 1000
        fsGroup: 1000
{anti}  volumeClaimTemplates:
  - metadata:
      name: datadir
    spec:
      accessModes:
      - ReadWriteOnce
{class}      resources:
        requests:
          storage: 10Gi
---
"
    );
    if b == Break::Unmounted {
        // "scratch" is an emptyDir: the claim template is never mounted
        *out = out.replacen(
            "      securityContext:\n        runAsUser: 1000",
            "      volumes:\n      - name: scratch\n        emptyDir: {}\n      securityContext:\n        runAsUser: 1000",
            1,
        );
    }
}

fn companions(out: &mut String, name: &str, ns: &str, replicas: u64, port: u16, b: Break) {
    if b != Break::NoService {
        let cip = if b == Break::NotHeadless {
            "10.0.0.10"
        } else {
            "None"
        };
        let _ = write!(
            out,
            "apiVersion: v1
kind: Service
metadata:
  name: {name}-hs
  namespace: {ns}
  labels:
    app: {name}
spec:
  clusterIP: {cip}
  ports:
  - port: {port}
    name: client
  selector:
    app: {name}
---
"
        );
    }
    if b != Break::NoPdb {
        let min = if b == Break::PdbBelowQuorum {
            1
        } else {
            replicas / 2 + 1
        };
        let _ = write!(
            out,
            "apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}-pdb
  namespace: {ns}
spec:
  minAvailable: {min}
  selector:
    matchLabels:
      app: {name}
---
"
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: gen-manifests N DIR [SEED]");
        std::process::exit(2);
    }
    let n: u64 = args[1].parse().expect("N must be a number");
    let dir = PathBuf::from(&args[2]);
    let seed: u64 = args
        .get(3)
        .map_or(42, |s| s.parse().expect("SEED must be a number"));
    std::fs::create_dir_all(&dir).expect("create output folder");
    let mut rng = Rng(seed);
    let namespaces = (n / 50).clamp(1, 500);
    let mut written = 0u64;
    let mut bytes = 0usize;
    let mut i = 0u64;
    while written < n {
        let ns = format!("team-{}", rng.below(namespaces));
        let broken = rng.below(4) == 0;
        let b = if broken {
            BREAKS[rng.below(BREAKS.len() as u64) as usize]
        } else {
            Break::None
        };
        let mut out = String::with_capacity(8192);
        if i.is_multiple_of(5) && written + 2 <= n {
            // a ZooKeeper ensemble and a Kafka cluster that uses it
            let zk = format!("zk-{i}");
            let kafka = format!("kafka-{i}");
            statefulset(
                &mut out,
                &zk,
                &ns,
                3,
                "zookeeper:3.8.4",
                2181,
                Break::None,
                "",
            );
            companions(&mut out, &zk, &ns, 3, 2181, Break::None);
            let zk_ns = match b {
                Break::ZkWrongNamespace => "prod".to_string(),
                Break::Placeholder => "<NAMESPACE>".to_string(),
                _ => ns.clone(),
            };
            let connect = (0..3)
                .map(|o| format!("{zk}-{o}.{zk}-hs.{zk_ns}.svc.cluster.local:2181"))
                .collect::<Vec<_>>()
                .join(",");
            let cmd = format!(
                "        command:
        - sh
        - -c
        - |
          exec kafka-server-start.sh /opt/kafka/config/server.properties \\
            --override broker.id=${{HOSTNAME##*-}} \\
            --override zookeeper.connect={connect} \\
            --override log.dirs=/var/lib/{kafka}/data
"
            );
            let kb = match b {
                Break::ZkWrongNamespace | Break::Placeholder => Break::None,
                other => other,
            };
            statefulset(&mut out, &kafka, &ns, 3, "kafka:3.7.0", 9092, kb, &cmd);
            companions(&mut out, &kafka, &ns, 3, 9092, kb);
            written += 2;
        } else {
            let replicas = [3, 3, 5, 1, 2][rng.below(5) as usize];
            let name = format!("db-{i}");
            let b = match b {
                Break::ZkWrongNamespace | Break::Placeholder => Break::NoAntiAffinity,
                other => other,
            };
            statefulset(&mut out, &name, &ns, replicas, "cassandra:4.1", 9042, b, "");
            companions(&mut out, &name, &ns, replicas, 9042, b);
            written += 1;
        }
        bytes += out.len();
        let sub = dir.join(&ns);
        std::fs::create_dir_all(&sub).expect("create namespace folder");
        std::fs::write(sub.join(format!("app-{i}.yaml")), out).expect("write manifest");
        i += 1;
    }
    eprintln!(
        "wrote {written} StatefulSets in {i} files, {:.1} MB, under {}",
        bytes as f64 / 1e6,
        dir.display()
    );
}
