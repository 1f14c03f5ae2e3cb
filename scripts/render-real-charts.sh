#!/usr/bin/env bash
# Render the public charts of docs/corpus.md ("Rendered charts beyond the corpus") into OUT, one
# file per chart and values set, with scripts/render-chart.py (Helm v4 as a library; nothing is
# fetched). Then check each with `statelint check OUT/<file>`.
#
#   bash scripts/render-real-charts.sh SRC OUT
#
# Each file starts with `# render-chart: release REL namespace NS`: check it with
# `statelint check --namespace NS FILE`, as Helm installs objects without a namespace into the
# release's (statelint does the same when it renders a chart itself).
#
# SRC holds the chart repositories at the commits docs/corpus.md names, unpacked as
# SRC/<owner>+<repo>[@<commit>]/... (e.g. `git -C charts archive HEAD bitnami | tar -x -C
# SRC/bitnami+charts`). Renders are written OUTSIDE the repository and never committed.
# Python: target/venv/bin/python3 (created by `bash scripts/test.sh --test docs`), or PY=...
set -uo pipefail
SRC=${1:?usage: render-real-charts.sh SRC OUT}
OUT=${2:?usage: render-real-charts.sh SRC OUT}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PY:-$HERE/../target/venv/bin/python3}
mkdir -p "$OUT"
failed=0

# r FILE CHART RELEASE NAMESPACE [render-chart.py options...]
r() {
  local file=$1 chart=$2 rel=$3 ns=$4
  shift 4
  echo "# render-chart: release $rel namespace $ns" >"$OUT/$file.yaml"
  if "$PY" "$HERE/render-chart.py" "$SRC/$chart" --name "$rel" --namespace "$ns" "$@" \
    >>"$OUT/$file.yaml" 2>"$OUT/$file.err"; then
    rm -f "$OUT/$file.err"
  else
    echo "render failed: $file ($(head -c 300 "$OUT/$file.err"))" >&2
    failed=$((failed + 1))
  fi
}

B=bitnami+charts/bitnami
BD=(--deps "$SRC/$B")
# Bitnami, chart defaults and an HA set (3 voters; the charts already default to a PDB,
# persistence and soft anti-affinity)
r zookeeper-default "$B/zookeeper" zk data "${BD[@]}"
r zookeeper-ha "$B/zookeeper" zk data "${BD[@]}" --set replicaCount=3
r kafka-kraft-default "$B/kafka" kafka data "${BD[@]}"
r kafka-kraft-split "$B/kafka" kafka data "${BD[@]}" --set controller.controllerOnly=true \
  --set broker.replicaCount=3
K31=bitnami+charts@3c9e14a/bitnami
r kafka31-zookeeper "$K31/kafka" kafka data --deps "$SRC/$K31" --set kraft.enabled=false \
  --set zookeeper.enabled=true --set zookeeper.replicaCount=3 --set broker.replicaCount=3 \
  --set controller.replicaCount=0
r kafka31-kraft-default "$K31/kafka" kafka data --deps "$SRC/$K31"
r etcd-default "$B/etcd" etcd data "${BD[@]}"
r etcd-ha "$B/etcd" etcd data "${BD[@]}" --set replicaCount=3
r elasticsearch-default "$B/elasticsearch" es data "${BD[@]}"
r elasticsearch-ha "$B/elasticsearch" es data "${BD[@]}" --set master.replicaCount=3 \
  --set data.replicaCount=3 --set master.podAntiAffinityPreset=soft \
  --set data.podAntiAffinityPreset=soft --set coordinating.podAntiAffinityPreset=soft \
  --set ingest.podAntiAffinityPreset=soft
r elasticsearch-masteronly "$B/elasticsearch" es data "${BD[@]}" --set master.masterOnly=false \
  --set master.replicaCount=3 --set data.replicaCount=0 --set coordinating.replicaCount=0 \
  --set ingest.enabled=false --set master.podAntiAffinityPreset=soft
r opensearch-default "$B/opensearch" os data "${BD[@]}"
r opensearch-ha "$B/opensearch" os data "${BD[@]}" --set master.replicaCount=3 \
  --set data.replicaCount=3 --set master.podAntiAffinityPreset=soft \
  --set data.podAntiAffinityPreset=soft --set coordinating.podAntiAffinityPreset=soft \
  --set ingest.podAntiAffinityPreset=soft
r cassandra-default "$B/cassandra" cass data "${BD[@]}"
r cassandra-ha "$B/cassandra" cass data "${BD[@]}" --set replicaCount=3
r scylladb-default "$B/scylladb" scylla data "${BD[@]}"
r mongodb-default "$B/mongodb" mongo data "${BD[@]}"
r mongodb-rs-arbiter "$B/mongodb" mongo data "${BD[@]}" --set architecture=replicaset
r mongodb-rs-noarbiter "$B/mongodb" mongo data "${BD[@]}" --set architecture=replicaset \
  --set replicaCount=3 --set arbiter.enabled=false
r mongodb-sharded-default "$B/mongodb-sharded" mongos data "${BD[@]}"
r mongodb-sharded-ha "$B/mongodb-sharded" mongos data "${BD[@]}" --set shards=2 \
  --set configsvr.replicaCount=3 --set shardsvr.dataNode.replicaCount=3
r clickhouse-default "$B/clickhouse" ch data "${BD[@]}"
r clickhouse-ha "$B/clickhouse" ch data "${BD[@]}" --set shards=2 --set replicaCount=3
r rabbitmq-default "$B/rabbitmq" rmq data "${BD[@]}"
r rabbitmq-ha "$B/rabbitmq" rmq data "${BD[@]}" --set replicaCount=3
r redis-replication "$B/redis" redis data "${BD[@]}"
r redis-sentinel "$B/redis" redis data "${BD[@]}" --set sentinel.enabled=true
r redis-cluster-default "$B/redis-cluster" rc data "${BD[@]}"
r valkey-replication "$B/valkey" valkey data "${BD[@]}"
r valkey-sentinel "$B/valkey" valkey data "${BD[@]}" --set sentinel.enabled=true
r valkey-cluster-default "$B/valkey-cluster" vc data "${BD[@]}"
r keydb-default "$B/keydb" keydb data "${BD[@]}"
r solr-default "$B/solr" solr data "${BD[@]}"
r solr-ha "$B/solr" solr data "${BD[@]}" --set zookeeper.replicaCount=3
r nats-default "$B/nats" nats data "${BD[@]}"
r nats-ha "$B/nats" nats data "${BD[@]}" --set replicaCount=3 --set jetstream.enabled=true \
  --set persistence.enabled=true --set resourceType=statefulset
r consul-default "$B/consul" consul data "${BD[@]}"
r minio-distributed "$B/minio" minio data "${BD[@]}" --set mode=distributed
r vault-bitnami-default "$B/vault" vault data "${BD[@]}"
r mariadb-galera-default "$B/mariadb-galera" galera data "${BD[@]}"
r seaweedfs-default "$B/seaweedfs" sw data "${BD[@]}"
r milvus-default "$B/milvus" milvus data "${BD[@]}"

# Vendors' own charts
r consul-k8s-ha hashicorp+consul-k8s/charts/consul consul consul --set server.replicas=3
r consul-k8s-default hashicorp+consul-k8s/charts/consul consul consul
r vault-default hashicorp+vault-helm vault vault
r vault-ha-raft hashicorp+vault-helm vault vault --set server.ha.enabled=true \
  --set server.ha.raft.enabled=true
r nats-io-default nats-io+k8s/helm/charts/nats nats nats
r nats-io-jetstream nats-io+k8s/helm/charts/nats nats nats \
  --set config.jetstream.enabled=true --set config.cluster.enabled=true
RP=redpanda-data+helm-charts@d6fdc91e/charts
r redpanda-default "$RP/redpanda" redpanda redpanda --deps "$SRC/$RP"
r cockroachdb-default cockroachdb+helm-charts/cockroachdb crdb crdb
r pulsar-default apache+pulsar-helm-chart/charts/pulsar pulsar pulsar \
  --set victoria-metrics-k8s-stack.enabled=false --stub victoria-metrics-k8s-stack
r elastic-elasticsearch-default elastic+helm-charts/elasticsearch es search
CP=confluentinc+cp-helm-charts/charts
r cp-zookeeper-default "$CP/cp-zookeeper" cp streaming
r cp-kafka-default "$CP/cp-kafka" cp streaming --deps "$SRC/$CP"
r thanos-default "$B/thanos" thanos data "${BD[@]}" --set storegateway.enabled=true \
  --set ruler.enabled=true --set compactor.enabled=true \
  --set-string 'objstoreConfig=type: FILESYSTEM' \
  --set 'ruler.alertmanagers={http://alertmanager:9093}' \
  --set-string 'ruler.config=groups: []'
r grafana-loki-default "$B/grafana-loki" loki data "${BD[@]}"
r postgresql-ha-default "$B/postgresql-ha" pg data "${BD[@]}"
r postgresql-replication "$B/postgresql" pg data "${BD[@]}" --set architecture=replication
r mysql-replication "$B/mysql" mysql data "${BD[@]}" --set architecture=replication
r influxdb-default "$B/influxdb" influx data "${BD[@]}"
r neo4j-default "$B/neo4j" neo4j data "${BD[@]}"
r yugabyte-default yugabyte+charts/stable/yugabyte yb yb
r dapr-default dapr+dapr/charts/dapr dapr dapr-system
r dapr-ha dapr+dapr/charts/dapr dapr dapr-system --set global.ha.enabled=true
PC=prometheus-community+helm-charts/charts
r prometheus-statefulset "$PC/prometheus" prom monitoring --deps "$SRC/$PC" \
  --set server.statefulSet.enabled=true
r alertmanager-ha "$PC/alertmanager" am monitoring --set replicaCount=3
G=grafana+helm-charts/charts
r loki-distributed-default "$G/loki-distributed" loki loki
r tempo-distributed-default "$G/tempo-distributed" tempo tempo --deps "$SRC/$G" \
  --stub grafana-agent-operator --stub minio

# Deliberately bad values: what a maintainer would want caught (docs/corpus.md lists what
# statelint says about each)
r bad-zookeeper-4 "$B/zookeeper" zk data "${BD[@]}" --set replicaCount=4
r bad-zookeeper-minavailable-1 "$B/zookeeper" zk data "${BD[@]}" --set replicaCount=3 \
  --set pdb.minAvailable=1
r bad-zookeeper-no-pdb "$B/zookeeper" zk data "${BD[@]}" --set replicaCount=3 --set pdb.create=false
r bad-zookeeper-no-antiaffinity "$B/zookeeper" zk data "${BD[@]}" --set replicaCount=3 \
  --set podAntiAffinityPreset=
r bad-etcd-4 "$B/etcd" etcd data "${BD[@]}" --set replicaCount=4
r bad-etcd-maxunavailable-2 "$B/etcd" etcd data "${BD[@]}" --set replicaCount=3 \
  --set pdb.maxUnavailable=2
r bad-kafka-controllers-4 "$B/kafka" kafka data "${BD[@]}" --set controller.replicaCount=4
r bad-kafka31-external-zookeeper "$K31/kafka" kafka data --deps "$SRC/$K31" \
  --set kraft.enabled=false --set broker.replicaCount=3 --set controller.replicaCount=0 \
  --set 'externalZookeeper.servers={zk-zookeeper-0.zk-zookeeper-headless.other.svc.cluster.local:2181}'
r bad-elasticsearch-masters-4 "$B/elasticsearch" es data "${BD[@]}" --set master.replicaCount=4 \
  --set master.podAntiAffinityPreset=soft
r bad-mongodb-rs-4 "$B/mongodb" mongo data "${BD[@]}" --set architecture=replicaset \
  --set replicaCount=4 --set arbiter.enabled=false
r bad-mongodb-sharded-cfg-2 "$B/mongodb-sharded" mongos data "${BD[@]}" \
  --set configsvr.replicaCount=2 --set shardsvr.dataNode.replicaCount=3
r bad-consul-4 "$B/consul" consul data "${BD[@]}" --set replicaCount=4
r bad-consul-k8s-bootstrap-expect hashicorp+consul-k8s/charts/consul consul consul \
  --set server.replicas=3 --set server.bootstrapExpect=5
r bad-consul-k8s-4 hashicorp+consul-k8s/charts/consul consul consul --set server.replicas=4
r bad-vault-raft-4 hashicorp+vault-helm vault vault --set server.ha.enabled=true \
  --set server.ha.raft.enabled=true --set server.ha.replicas=4
r bad-nats-io-jetstream-4 nats-io+k8s/helm/charts/nats nats nats \
  --set config.jetstream.enabled=true --set config.cluster.enabled=true \
  --set config.cluster.replicas=4
r bad-nats-jetstream-4 "$B/nats" nats data "${BD[@]}" --set replicaCount=4 \
  --set jetstream.enabled=true --set persistence.enabled=true
r bad-redpanda-4 "$RP/redpanda" redpanda redpanda --deps "$SRC/$RP" --set statefulset.replicas=4
r bad-clickhouse-keeper-4 "$B/clickhouse" ch data "${BD[@]}" --set keeper.replicaCount=4
r bad-solr-zookeeper-4 "$B/solr" solr data "${BD[@]}" --set zookeeper.replicaCount=4
r bad-rabbitmq-minavailable-1 "$B/rabbitmq" rmq data "${BD[@]}" --set replicaCount=3 \
  --set pdb.minAvailable=1
r bad-cassandra-maxunavailable-2 "$B/cassandra" cass data "${BD[@]}" --set replicaCount=3 \
  --set pdb.maxUnavailable=2
r bad-galera-4 "$B/mariadb-galera" galera data "${BD[@]}" --set replicaCount=4
r bad-cockroachdb-1 cockroachdb+helm-charts/cockroachdb crdb crdb --set statefulset.replicas=1

echo "rendered into $OUT ($failed failed)" >&2
exit $((failed > 0))
