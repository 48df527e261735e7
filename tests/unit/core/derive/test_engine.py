"""The deriver on the seed's walkthroughs and on the incremental corner cases."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topolog.core import graph
from topolog.core.derive import engine
from topolog.core.kinds import container

from . import objects as o

Snapshot = tuple[dict[str, graph.Node], dict[str, graph.Edge]]


def derive(*items: dict[str, Any]) -> engine.Deriver:
    """A deriver fed ``items`` as changes (each alerted at once: no initial list)."""
    d = engine.Deriver(o.CLUSTER, initial_list=False)
    for item in items:
        d.apply(o.env(item))
    return d


def by_name(d: engine.Deriver, type_: str, name: str) -> graph.Node:
    nodes, _ = d.snapshot()
    found = [
        n for n in nodes.values() if n.metadata["Type"] == type_ and n.metadata["Name"] == name
    ]
    assert len(found) == 1, f"{type_}/{name}: {len(found)} nodes"
    return found[0]


def out(d: engine.Deriver, node: str, relation: str | None = None) -> set[str]:
    """Names of the children of ``node`` (Gremlin ``Out()``)."""
    nodes, edges = d.snapshot()
    return {
        nodes[e.child].metadata["Name"]
        for e in edges.values()
        if e.parent == node and relation in (None, e.metadata["RelationType"])
    }


def in_(d: engine.Deriver, node: str) -> set[tuple[str, str]]:
    """(Type, Name) of the parents of ``node`` (Gremlin ``In()``)."""
    nodes, edges = d.snapshot()
    return {
        (nodes[e.parent].metadata["Type"], nodes[e.parent].metadata["Name"])
        for e in edges.values()
        if e.child == node
    }


def dangling(d: engine.Deriver) -> set[tuple[str, str]]:
    nodes, _ = d.snapshot()
    return {
        (n.metadata["Type"], n.metadata["Name"])
        for n in nodes.values()
        if n.metadata["StateReason"] == "Missing"
    }


# -- hello-node --------------------------------------------------------------------------

HELLO = {"app": "hello-node"}


def hello_node(pods: int = 2) -> list[dict[str, Any]]:
    selector = {"matchLabels": HELLO}
    items = [
        o.namespace("default"),
        o.obj(
            "Deployment",
            "hello-node",
            uid="dep",
            labels=HELLO,
            spec={"replicas": pods, "selector": selector},
            status={"availableReplicas": pods, "readyReplicas": pods, "replicas": pods},
        ),
        o.obj(
            "ReplicaSet",
            "hello-node-5d",
            uid="rs",
            labels=HELLO,
            owners=[("Deployment", "hello-node", "dep")],
            spec={"replicas": pods, "selector": selector},
            status={"availableReplicas": pods},
        ),
        o.obj(
            "Service",
            "hello-node",
            uid="svc",
            labels=HELLO,
            spec={"selector": HELLO, "type": "LoadBalancer", "ports": [{"port": 8080}]},
        ),
    ]
    items += [
        o.running_pod(
            f"hello-node-5d-{i}",
            uid=f"pod{i}",
            labels=HELLO,
            owners=[("ReplicaSet", "hello-node-5d", "rs")],
        )
        for i in range(pods)
    ]
    return items


def test_hello_node_chains_deployment_replicaset_pods_and_service_selects_the_pods() -> None:
    d = derive(*hello_node(pods=2))
    assert out(d, "dep", "deployment") == {"hello-node-5d"}
    assert out(d, "rs", "replicaset") == {"hello-node-5d-0", "hello-node-5d-1"}
    assert out(d, "svc", "service") == {"hello-node-5d-0", "hello-node-5d-1"}
    # Ownership: the deployment selects the pods too, but its owner chain wins.
    assert out(d, "dep") == {"hello-node-5d"}
    for name in ("hello-node", "hello-node-5d"):
        assert by_name(d, "deployment" if name == "hello-node" else "replicaset", name)
    assert {n.metadata["State"] for n in d.snapshot()[0].values()} == {"UP"}


def test_every_node_carries_skydive_metadata() -> None:
    d = derive(*hello_node(pods=1))
    svc = by_name(d, "service", "hello-node")
    assert svc.metadata["Manager"] == "k8s"
    assert svc.metadata["ClusterName"] == o.CLUSTER
    assert svc.metadata["K8s"]["Labels"] == HELLO
    assert svc.metadata["K8s"]["ServiceType"] == "LoadBalancer"
    assert svc.metadata["K8s"]["Ports"][0]["Port"] == 8080
    cluster = d.snapshot()[0][graph.derived_id(o.CLUSTER, "cluster")]
    assert cluster.metadata["Type"] == "cluster"
    assert out(d, cluster.id, "ownership") == {"default"}


def test_the_cluster_node_is_emitted_once() -> None:
    d = engine.Deriver(o.CLUSTER)
    cluster_id = graph.derived_id(o.CLUSTER, "cluster")
    first = d.apply(o.env(o.namespace("a")))
    second = d.apply(o.env(o.namespace("b")))
    assert cluster_id in {c.id for c in first.changes}
    assert cluster_id not in {c.id for c in second.changes}


def test_containers_have_stable_ids_and_statuses_matched_by_name() -> None:
    pod = o.running_pod("p", uid="pod", spec={"containers": [{"name": "a"}, {"name": "b"}]})
    pod["spec"]["initContainers"] = [{"name": "init"}]
    # Statuses listed in another order than the containers, one of them crashing.
    pod["status"]["containerStatuses"] = [
        {"name": "b", "ready": False, "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
        {"name": "a", "ready": True, "state": {"running": {}}},
    ]
    pod["status"]["initContainerStatuses"] = [
        {"name": "init", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    ]
    d = derive(o.namespace("default"), pod)
    nodes, _ = d.snapshot()
    assert nodes[container.container_id("pod", "a")].metadata["State"] == "UP"
    crashing = nodes[container.container_id("pod", "b")].metadata
    assert (crashing["State"], crashing["StateReason"]) == ("DOWN", "CrashLoopBackOff")
    assert nodes[container.container_id("pod", "init")].metadata["K8s"]["Init"] is True
    assert out(d, "pod", "ownership") == {"a", "b", "init"}
    assert by_name(d, "pod", "p").metadata["StateReason"] == "CrashLoopBackOff"


def test_an_identical_event_changes_nothing() -> None:
    items = hello_node(pods=1)
    d = derive(*items)
    for item in items:
        result = d.apply(o.env(item, at=2000.0))
        assert result.changes == [] and result.alerts == []


def test_synced_and_unknown_kinds_produce_nothing() -> None:
    from topolog.core import envelope

    d = engine.Deriver(o.CLUSTER)
    marker = envelope.synced_marker(
        cluster=o.CLUSTER, api_version="v1", kind="Pod", resource_version="1", observed_at=1.0
    )
    assert d.apply(marker) == engine.DeriveResult()
    assert d.apply(o.env(o.obj("Rollout", "r"))) == engine.DeriveResult()
    assert d.snapshot() == ({}, {})


# -- task-pv ---------------------------------------------------------------------------


def task_pv() -> list[dict[str, Any]]:
    return [
        o.namespace("default"),
        o.obj(
            "PersistentVolume",
            "task-pv-volume",
            "",
            uid="pv",
            spec={
                "storageClassName": "manual",
                "capacity": {"storage": "10Gi"},
                "accessModes": ["ReadWriteOnce"],
                "claimRef": {"namespace": "default", "name": "task-pv-claim"},
            },
            status={"phase": "Available"},
        ),
        o.obj(
            "PersistentVolumeClaim",
            "task-pv-claim",
            uid="pvc",
            spec={"storageClassName": "manual", "accessModes": ["ReadWriteOnce"]},
            status={"phase": "Pending"},
        ),
        o.pending_pod(
            "task-pv-pod",
            uid="pod",
            spec={
                "volumes": [
                    {"name": "storage", "persistentVolumeClaim": {"claimName": "task-pv-claim"}}
                ]
            },
        ),
    ]


def test_task_pv_pod_is_down_because_of_its_claim_and_the_claim_because_of_itself() -> None:
    d = derive(*task_pv())
    pod, pvc, pv = (
        by_name(d, "pod", "task-pv-pod"),
        by_name(d, "persistentvolumeclaim", "task-pv-claim"),
        by_name(d, "persistentvolume", "task-pv-volume"),
    )
    assert (pod.metadata["State"], pod.metadata["RootCause"]) == ("DOWN", ["pvc"])
    assert (pvc.metadata["State"], pvc.metadata["RootCause"]) == ("DOWN", [])
    assert (pv.metadata["State"], pv.metadata["RootCause"]) == ("UP", [])
    assert out(d, "pod", "pod") == {"task-pv-claim"}
    assert out(d, "pvc", "persistentvolumeclaim") == {"task-pv-volume"}
    # The storage class "manual" is only a name (static binding): no placeholder for it.
    assert dangling(d) == set()


def test_binding_the_claim_clears_the_pods_root_cause_and_alerts() -> None:
    items = task_pv()
    d = derive(*items)
    claim = items[2]
    claim["status"] = {"phase": "Bound"}
    claim["spec"]["volumeName"] = "task-pv-volume"
    result = d.apply(o.env(claim, at=2000.0))
    pod = by_name(d, "pod", "task-pv-pod")
    assert pod.metadata["State"] == "DOWN" and pod.metadata["RootCause"] == []
    [alert] = result.alerts
    assert (alert.id, alert.old_state, alert.new_state) == ("pvc", "DOWN", "UP")
    assert alert.time == 2000.0
    # The pod's node changed (its RootCause), not only the claim's.
    assert {"pvc", "pod"} <= {c.id for c in result.changes if c.op is graph.Op.NODE_UPSERT}


def test_a_down_dependency_of_a_down_dependency_is_the_deepest_root_cause() -> None:
    items = task_pv()
    items[1]["status"] = {"phase": "Failed", "reason": "ProvisioningFailed"}
    d = derive(*items)
    assert by_name(d, "pod", "task-pv-pod").metadata["RootCause"] == ["pv"]
    assert by_name(d, "persistentvolumeclaim", "task-pv-claim").metadata["RootCause"] == ["pv"]


# -- wordpress --------------------------------------------------------------------------


def wordpress_pod(name: str, uid: str) -> dict[str, Any]:
    secret_env = {"valueFrom": {"secretKeyRef": {"name": "mysql-pass", "key": "password"}}}
    return o.running_pod(
        name,
        uid=uid,
        labels={"app": "wordpress"},
        spec={"containers": [{"name": "c", "env": [{"name": "PW", **secret_env}]}]},
    )


def secret(uid: str) -> dict[str, Any]:
    return o.obj("Secret", "mysql-pass", uid=uid, type="Opaque", dataKeys=["password"])


def test_wordpress_pods_are_the_secrets_in_and_follow_it_when_recreated() -> None:
    pods = [wordpress_pod("wordpress", "wp"), wordpress_pod("wordpress-mysql", "mysql")]
    d = derive(o.namespace("default"), secret("s1"), *pods)
    assert {name for t, name in in_(d, "s1") if t == "pod"} == {"wordpress", "wordpress-mysql"}

    # kubectl delete secret mysql-pass: the pods still refer to it.
    gone = d.apply(o.deleted(secret("s1")))
    assert "s1" in {c.id for c in gone.changes if c.op is graph.Op.NODE_DELETE}
    assert dangling(d) == {("secret", "mysql-pass")}
    placeholder = by_name(d, "secret", "mysql-pass")
    assert placeholder.metadata["State"] == "DOWN"
    assert {name for t, name in in_(d, placeholder.id) if t == "pod"} == {
        "wordpress",
        "wordpress-mysql",
    }
    assert any(a.id == placeholder.id and a.new_state == "DOWN" for a in gone.alerts)

    # kubectl create secret generic mysql-pass: a new uid, the edges re-point to it.
    back = d.apply(o.env(secret("s2")))
    assert dangling(d) == set()
    assert placeholder.id in {c.id for c in back.changes if c.op is graph.Op.NODE_DELETE}
    assert {name for t, name in in_(d, "s2") if t == "pod"} == {"wordpress", "wordpress-mysql"}
    assert "s1" not in d.snapshot()[0]


def test_a_crashing_pod_names_the_missing_secret_as_root_cause() -> None:
    pod = wordpress_pod("wordpress", "wp")
    pod["status"] = {
        "phase": "Pending",
        "containerStatuses": [
            {"name": "c", "state": {"waiting": {"reason": "CreateContainerConfigError"}}}
        ],
    }
    d = derive(o.namespace("default"), pod)
    placeholder = by_name(d, "secret", "mysql-pass")
    node = by_name(d, "pod", "wordpress").metadata
    assert (node["StateReason"], node["RootCause"]) == (
        "CreateContainerConfigError",
        [placeholder.id],
    )


# -- dangling references and deletes -----------------------------------------------------


def test_a_dangling_reference_is_replaced_when_the_object_appears() -> None:
    pod = o.running_pod("p", uid="pod", spec={"serviceAccountName": "robot"})
    d = derive(o.namespace("default"), pod)
    placeholder = by_name(d, "serviceaccount", "robot")
    assert placeholder.metadata["StateReason"] == "Missing"
    assert placeholder.id == by_name(d, "serviceaccount", "robot").id  # stable
    # It hangs from its namespace like the real object would.
    assert ("namespace", "default") in in_(d, placeholder.id)

    result = d.apply(o.env(o.obj("ServiceAccount", "robot", uid="sa")))
    assert dangling(d) == set()
    deletes = {c.id for c in result.changes if c.op is graph.Op.NODE_DELETE}
    assert deletes == {placeholder.id}
    assert out(d, "pod", "pod") == {"robot"}


def test_an_owner_seen_after_its_children_takes_over_its_placeholder() -> None:
    items = hello_node(pods=1)
    # The pod and its replicaset arrive before the deployment.
    d = derive(items[0], items[2], items[4])
    assert dangling(d) == {("deployment", "hello-node")}
    d.apply(o.env(items[1]))
    assert dangling(d) == set()
    assert out(d, "dep", "deployment") == {"hello-node-5d"}


def test_a_namespace_seen_last_adopts_everything_in_it() -> None:
    items = hello_node(pods=1)
    d = derive(*items[1:])
    assert dangling(d) == {("namespace", "default")}
    d.apply(o.env(items[0]))
    assert dangling(d) == set()
    ns = by_name(d, "namespace", "default")
    assert out(d, ns.id, "ownership") == {"hello-node", "hello-node-5d", "hello-node-5d-0"}


def test_deleting_a_pod_removes_its_node_containers_and_edges() -> None:
    items = hello_node(pods=2)
    d = derive(*items)
    result = d.apply(o.deleted(items[4]))
    nodes, edges = d.snapshot()
    gone = {"pod0", container.container_id("pod0", "main")}
    assert gone <= {c.id for c in result.changes if c.op is graph.Op.NODE_DELETE}
    assert not gone & nodes.keys()
    assert all(e.parent not in gone and e.child not in gone for e in edges.values())
    assert out(d, "svc", "service") == {"hello-node-5d-1"}
    assert out(d, "rs", "replicaset") == {"hello-node-5d-1"}


def test_deleting_an_object_nothing_requires_leaves_no_placeholder() -> None:
    items = hello_node(pods=1)
    d = derive(*items)
    d.apply(o.deleted(items[3]))  # the service: pods do not refer to it
    assert dangling(d) == set()
    assert "svc" not in d.snapshot()[0]


def test_relabelled_pod_leaves_and_joins_services() -> None:
    items = hello_node(pods=1)
    d = derive(*items)
    pod = items[4]
    pod["metadata"]["labels"] = {"app": "other"}
    d.apply(o.env(pod))
    assert out(d, "svc", "service") == set()
    service = by_name(d, "service", "hello-node").metadata
    assert (service["State"], service["StateReason"]) == ("DOWN", "NoEndpoints")
    pod["metadata"]["labels"] = HELLO
    d.apply(o.env(pod))
    assert out(d, "svc", "service") == {"hello-node-5d-0"}
    assert by_name(d, "service", "hello-node").metadata["State"] == "UP"


def test_a_service_whose_pods_are_not_ready_is_down_because_of_them() -> None:
    items = hello_node(pods=2)
    for pod in items[4:]:
        pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    d = derive(*items)
    service = by_name(d, "service", "hello-node").metadata
    assert (service["State"], service["StateReason"]) == ("DOWN", "NoReadyEndpoints")
    assert service["RootCause"] == ["pod0", "pod1"]


def test_workload_selectors_link_only_pods_without_owners() -> None:
    items = hello_node(pods=1)
    bare = o.running_pod("bare", uid="bare", labels=HELLO)
    d = derive(*items, bare)
    assert out(d, "dep", "deployment") == {"hello-node-5d", "bare"}
    assert out(d, "rs", "replicaset") == {"hello-node-5d-0", "bare"}


def test_a_replaced_object_with_a_missed_delete_is_removed() -> None:
    d = derive(o.namespace("default"), secret("s1"))
    d.apply(o.env(secret("s2")))
    nodes, _ = d.snapshot()
    assert "s1" not in nodes and "s2" in nodes


# -- determinism and order independence --------------------------------------------------


def histories() -> list[list[tuple[dict[str, Any], bool]]]:
    """Per-object event histories: (object, deleted?) in the order the API would send them."""

    def running(pod: dict[str, Any]) -> dict[str, Any]:
        done = o.running_pod(pod["metadata"]["name"], uid=pod["metadata"]["uid"])
        return {**pod, "status": done["status"]}

    hello = hello_node(pods=2)
    ns, dep, rs, svc, pod0, pod1 = hello
    scaled = {**dep, "status": {"availableReplicas": 1}}
    pv, pvc, pv_pod = task_pv()[1:]
    bound = {**pvc, "spec": {**pvc["spec"], "volumeName": "task-pv-volume"}}
    bound["status"] = {"phase": "Bound"}
    bare = o.running_pod("bare", uid="bare", labels=HELLO)
    relabelled = {**bare, "metadata": {**bare["metadata"], "labels": {"app": "x"}}}
    ingress = o.obj(
        "Ingress",
        "web",
        uid="ing",
        spec={
            "defaultBackend": {"service": {"name": "hello-node", "port": {"number": 8080}}},
            "rules": [
                {"http": {"paths": [{"path": "/", "backend": {"service": {"name": "gone"}}}]}}
            ],
            "tls": [{"secretName": "mysql-pass"}],
        },
    )
    deny = o.obj("NetworkPolicy", "deny", uid="np", spec={"podSelector": {}})
    node = o.obj(
        "Node", "n1", "", uid="n1", status={"conditions": [{"type": "Ready", "status": "False"}]}
    )
    on_node = o.running_pod("on-node", uid="on-node", node="n1", ready=False)
    hpa = o.obj(
        "HorizontalPodAutoscaler",
        "hello",
        uid="hpa",
        spec={"scaleTargetRef": {"kind": "Deployment", "name": "hello-node"}, "maxReplicas": 3},
    )
    cron = o.obj("CronJob", "nightly", uid="cron", spec={"schedule": "0 0 * * *"})
    job = o.obj(
        "Job",
        "nightly-1",
        uid="job",
        owners=[("CronJob", "nightly", "cron")],
        status={"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimit"}]},
    )
    return [
        [(ns, False)],
        [(dep, False), (scaled, False)],
        [(rs, False)],
        [(svc, False)],
        [(pod0, False), (running(pod0), False)],
        [(pod1, False), (pod1, True)],
        [(pv, False)],
        [(pvc, False), (bound, False)],
        [(pv_pod, False)],
        [(secret("s1"), False), (secret("s1"), True), (secret("s2"), False)],
        [(wordpress_pod("wordpress", "wp"), False)],
        [(bare, False), (relabelled, False)],
        [(ingress, False)],
        [(deny, False)],
        [(node, False)],
        [(on_node, False)],
        [(hpa, False)],
        [(cron, False)],
        [(job, False), (job, True)],
    ]


def apply_all(d: engine.Deriver, events: list[tuple[dict[str, Any], bool]]) -> None:
    for item, is_delete in events:
        d.apply(o.deleted(item) if is_delete else o.env(item))


def fresh_snapshot() -> Snapshot:
    """A fresh derivation from each object's final state."""
    d = engine.Deriver(o.CLUSTER)
    for history in histories():
        item, is_delete = history[-1]
        if not is_delete:
            d.apply(o.env(item))
    return d.snapshot()


def test_replaying_the_same_input_gives_the_same_changes() -> None:
    def run() -> list[list[dict[str, Any]]]:
        d = engine.Deriver(o.CLUSTER)
        return [
            [c.to_dict() for c in d.apply(o.deleted(i) if x else o.env(i)).changes]
            for h in histories()
            for i, x in h
        ]

    assert run() == run()


def test_the_fresh_derivation_has_the_expected_dangling_references_and_causes() -> None:
    nodes, _ = fresh_snapshot()
    missing = {
        (n.metadata["Type"], n.metadata["Name"])
        for n in nodes.values()
        if n.metadata["StateReason"] == "Missing"
    }
    assert missing == {("service", "gone")}
    meta = {n.id: n.metadata for n in nodes.values()}
    assert meta["ing"]["StateReason"] == "BackendMissing"
    assert meta["on-node"]["RootCause"] == ["n1"]
    assert meta["cron"]["RootCause"] == []  # its failed job was deleted


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_interleaving_that_keeps_per_object_order_ends_in_the_fresh_graph(
    data: st.DataObject,
) -> None:
    all_histories = histories()
    tokens = [i for i, h in enumerate(all_histories) for _ in h]
    order = data.draw(st.permutations(tokens))
    cursor = [0] * len(all_histories)
    events: list[tuple[dict[str, Any], bool]] = []
    for i in order:
        events.append(all_histories[i][cursor[i]])
        cursor[i] += 1
    d = engine.Deriver(o.CLUSTER)
    apply_all(d, events)
    assert d.snapshot() == fresh_snapshot()


def test_changes_replayed_onto_an_empty_graph_rebuild_the_snapshot() -> None:
    d = engine.Deriver(o.CLUSTER)
    nodes: dict[str, graph.Node] = {}
    edges: dict[str, graph.Edge] = {}
    for history in histories():
        for item, is_delete in history:
            for change in d.apply(o.deleted(item) if is_delete else o.env(item)).changes:
                if change.op is graph.Op.NODE_UPSERT and change.node is not None:
                    nodes[change.id] = change.node
                elif change.op is graph.Op.EDGE_UPSERT and change.edge is not None:
                    edges[change.id] = change.edge
                elif change.op is graph.Op.NODE_DELETE:
                    del nodes[change.id]
                else:
                    del edges[change.id]
    assert (nodes, edges) == d.snapshot()


# -- cost -------------------------------------------------------------------------------


def cluster_of(namespaces: int, unrelated_pods: int) -> engine.Deriver:
    d = engine.Deriver(o.CLUSTER)
    for n in range(namespaces):
        ns = f"ns{n}"
        d.apply(o.env(o.namespace(ns)))
        d.apply(
            o.env(o.obj("Service", "web", ns, uid=f"svc-{ns}", spec={"selector": {"app": "web"}}))
        )
        d.apply(o.env(o.obj("Secret", "creds", ns, uid=f"secret-{ns}")))
        for p in range(3):
            d.apply(o.env(o.running_pod(f"web-{p}", ns, uid=f"web-{ns}-{p}", labels=HELLO_WEB)))
        for p in range(unrelated_pods):
            d.apply(
                o.env(o.running_pod(f"other-{p}", ns, uid=f"o-{ns}-{p}", labels={"app": f"o{p}"}))
            )
    return d


HELLO_WEB = {"app": "web"}


def pod_event_cost(d: engine.Deriver) -> int:
    """Operations for one pod going unready and ready again."""
    before = d.operations
    for ready in (False, True):
        pod = o.running_pod("web-0", "ns0", uid="web-ns0-0", labels=HELLO_WEB, ready=ready)
        pod["spec"]["containers"][0]["envFrom"] = [{"secretRef": {"name": "creds"}}]
        d.apply(o.env(pod))
    return d.operations - before


def test_the_work_of_a_pod_event_does_not_grow_with_the_cluster() -> None:
    small = pod_event_cost(cluster_of(namespaces=2, unrelated_pods=2))
    large = pod_event_cost(cluster_of(namespaces=40, unrelated_pods=40))
    assert small > 0
    assert large == small


# -- network policies --------------------------------------------------------------------


def test_network_policy_edges_follow_policies_and_pods() -> None:
    items = hello_node(pods=2)
    deny = o.obj("NetworkPolicy", "deny", uid="np", spec={"podSelector": {}})
    d = derive(*items, deny)
    assert out(d, "np", "networkpolicy") == {"hello-node-5d-0", "hello-node-5d-1"}
    d.apply(o.deleted(items[4]))
    assert out(d, "np", "networkpolicy") == {"hello-node-5d-1"}
    result = d.apply(o.deleted(deny))
    _, edges = d.snapshot()
    assert not [e for e in edges.values() if e.metadata["RelationType"] == "networkpolicy"]
    assert any(c.op is graph.Op.EDGE_DELETE for c in result.changes)


def test_a_late_delete_of_an_older_object_keeps_its_replacement() -> None:
    d = derive(o.namespace("default"), secret("s1"))
    d.apply(o.env(secret("s2")))
    assert d.apply(o.deleted(secret("s1"))).changes == []
    assert "s2" in d.snapshot()[0]
