"""Browser tier: the dashboard in Debian's Chromium, driven by Playwright, against a gateway.

The gateway is the real app (``gateway.app.create_app``) with the dashboard router,
served by uvicorn on a free loopback port in a thread of its own, over a
``MemoryBackend`` (the store's projection semantics in memory). The graph in it is
derived by the real deriver (``topolog.core.derive``) from the demo manifests
(deploy/demo: hello-node, bookinfo with its network policies, task-pv, wordpress),
with what controllers would add (ReplicaSets, Pods, bindings, statuses) filled in here,
and a history: the scenario was applied ten minutes ago and the seed's wordpress
password rotation (old pods deleted, new ones created) five minutes ago.

``Cluster.put``/``Cluster.delete`` derive one more change and apply it on the server's
loop — a live change, as the pipeline would make it.

Chromium is Debian's (/usr/bin/chromium, ``apt-get install chromium``); Playwright's own
browser download is never used.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gateway.app import create_app
from gateway.memory_backend import MemoryBackend
from gateway.routes import dashboard
from gateway.settings import GatewaySettings
from topolog.core import envelope, graph, manifests
from topolog.core.derive.engine import Deriver
from topolog.core.simulate import Simulator

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Screenshots go to docs/screenshots only when asked (TOPOLOG_SCREENSHOTS=1), so a test
#: run does not rewrite the committed pictures.
SCREENSHOTS = ROOT / "docs" / "screenshots"
CLUSTER = "demo"
NODE = "kwok-node-0"

Obj = dict[str, Any]


# -- what controllers would add to the manifests -----------------------------------------


def uid_of(kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"topolog-test/{kind}/{namespace}/{name}"))


def suffix(*parts: str, n: int = 5) -> str:
    digest = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return "".join("bcdfghjklmnpqrstvwxz2456789"[int(c, 16) % 27] for c in digest[:n])


def obj(kind: str, name: str, namespace: str = "", **body: Any) -> Obj:
    meta: Obj = {"name": name, "uid": uid_of(kind, namespace, name)}
    if namespace:
        meta["namespace"] = namespace
    meta.update(body.pop("metadata", {}))
    return {"kind": kind, "metadata": meta, **body}


def owned(o: Obj, owner: Obj) -> Obj:
    o["metadata"]["ownerReferences"] = [
        {
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
        }
    ]
    return o


def running(pod: Obj, *, ready: bool = True) -> Obj:
    containers = pod["spec"].get("containers", [])
    pod["spec"]["nodeName"] = NODE
    pod["status"] = {
        "phase": "Running",
        "podIP": "10.244.0." + str(int(suffix(pod["metadata"]["uid"], n=1), 36) % 250 + 2),
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": [
            {"name": c["name"], "ready": ready, "state": {"running": {}}} for c in containers
        ],
    }
    return pod


def pending(pod: Obj, message: str) -> Obj:
    pod["status"] = {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
            }
        ],
    }
    return pod


def creating(pod: Obj) -> Obj:
    """A scheduled pod whose containers are still being created (DOWN, not failing)."""
    pod["spec"]["nodeName"] = NODE
    pod["status"] = {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [
            {
                "name": c["name"],
                "ready": False,
                "state": {"waiting": {"reason": "ContainerCreating"}},
            }
            for c in pod["spec"].get("containers", [])
        ],
    }
    return pod


def quantity(text: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    for unit, factor in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def pod_for(rs: Obj, template: Obj, index: int, generation: str = "") -> Obj:
    name = f"{rs['metadata']['name']}-{suffix(rs['metadata']['name'], str(index), generation)}"
    pod = obj(
        "Pod",
        name,
        rs["metadata"]["namespace"],
        metadata={"labels": dict(template.get("metadata", {}).get("labels", {}))},
        spec=copy.deepcopy(template.get("spec", {})),
    )
    return owned(pod, rs)


class Scenario:
    """The demo manifests as a cluster would hold them: objects in creation order."""

    running = staticmethod(running)

    def __init__(self) -> None:
        loaded = [m.object for m in manifests.load([ROOT / "deploy" / "demo"])]
        self.objects: list[Obj] = [
            obj(
                "Namespace",
                "default",
                metadata={"labels": {"kubernetes.io/metadata.name": "default"}},
                status={"phase": "Active"},
            ),
            obj(
                "Namespace",
                "kube-system",
                metadata={"labels": {"kubernetes.io/metadata.name": "kube-system"}},
                status={"phase": "Active"},
            ),
            obj(
                "Node",
                NODE,
                metadata={"labels": {"kubernetes.io/hostname": NODE, "type": "kwok"}},
                status={
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "addresses": [{"type": "InternalIP", "address": "10.0.0.10"}],
                    "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux"},
                },
            ),
        ]
        self.objects += self._kube_system()
        for o in loaded:
            o = copy.deepcopy(o)
            meta = o.setdefault("metadata", {})
            meta.setdefault("uid", uid_of(o["kind"], meta.get("namespace", ""), meta["name"]))
            if o["kind"] == "Secret":
                o.pop("stringData", None)
                o["data"] = {"password": "<redacted>"}
            self.objects.append(o)
        self._bind_claims()
        self.pods: dict[str, list[Obj]] = {}
        for o in list(self.objects):
            if o["kind"] == "Deployment":
                self.objects += self._deploy(o)
            elif o["kind"] == "Pod":
                self._schedule(o)

    @staticmethod
    def _kube_system() -> list[Obj]:
        dep = obj(
            "Deployment",
            "coredns",
            "kube-system",
            metadata={"labels": {"k8s-app": "kube-dns"}},
            spec={
                "replicas": 2,
                "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                "template": {
                    "metadata": {"labels": {"k8s-app": "kube-dns"}},
                    "spec": {"containers": [{"name": "coredns", "image": "coredns:1.11"}]},
                },
            },
        )
        cm = obj("ConfigMap", "coredns", "kube-system", data={"Corefile": ".:53 {}"})
        svc = obj(
            "Service",
            "kube-dns",
            "kube-system",
            spec={"selector": {"k8s-app": "kube-dns"}, "ports": [{"port": 53, "protocol": "UDP"}]},
        )
        dep["spec"]["template"]["spec"]["volumes"] = [
            {"name": "config", "configMap": {"name": "coredns"}}
        ]
        return [cm, svc, dep]

    def _bind_claims(self) -> None:
        """Binds each claim to a free volume of its class that is big enough (first fit)."""
        volumes = [o for o in self.objects if o["kind"] == "PersistentVolume"]
        taken: set[str] = set()
        for claim in (o for o in self.objects if o["kind"] == "PersistentVolumeClaim"):
            want = quantity(claim["spec"]["resources"]["requests"]["storage"])
            cls = claim["spec"].get("storageClassName", "")
            fit = next(
                (
                    v
                    for v in volumes
                    if v["metadata"]["name"] not in taken
                    and v["spec"].get("storageClassName", "") == cls
                    and quantity(v["spec"]["capacity"]["storage"]) >= want
                ),
                None,
            )
            if fit is None:
                claim["status"] = {"phase": "Pending"}
                continue
            taken.add(fit["metadata"]["name"])
            claim["spec"]["volumeName"] = fit["metadata"]["name"]
            claim["status"] = {"phase": "Bound", "capacity": fit["spec"]["capacity"]}
            fit["spec"]["claimRef"] = {
                "kind": "PersistentVolumeClaim",
                "namespace": claim["metadata"]["namespace"],
                "name": claim["metadata"]["name"],
                "uid": claim["metadata"]["uid"],
            }
            fit["status"] = {"phase": "Bound"}
        for v in volumes:
            v.setdefault("status", {"phase": "Available"})

    def _unbound_claims(self, pod: Obj) -> list[str]:
        names = {
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["spec"].get("volumes", [])
            if "persistentVolumeClaim" in v
        }
        return sorted(
            o["metadata"]["name"]
            for o in self.objects
            if o["kind"] == "PersistentVolumeClaim"
            and o["metadata"]["name"] in names
            and o["status"]["phase"] != "Bound"
        )

    def _schedule(self, pod: Obj) -> Obj:
        if self._unbound_claims(pod):
            return pending(pod, "pod has unbound immediate PersistentVolumeClaims")
        return running(pod)

    def _deploy(self, dep: Obj) -> list[Obj]:
        name, ns = dep["metadata"]["name"], dep["metadata"]["namespace"]
        template = dep["spec"]["template"]
        replicas = int(dep["spec"].get("replicas", 1))
        rs = owned(
            obj(
                "ReplicaSet",
                f"{name}-{suffix(name, n=9)}",
                ns,
                metadata={"labels": dict(template.get("metadata", {}).get("labels", {}))},
                spec={
                    "replicas": replicas,
                    "selector": dep["spec"]["selector"],
                    "template": template,
                },
                status={
                    "replicas": replicas,
                    "readyReplicas": replicas,
                    "availableReplicas": replicas,
                },
            ),
            dep,
        )
        dep["status"] = {
            "replicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "updatedReplicas": replicas,
            "conditions": [{"type": "Available", "status": "True"}],
        }
        pods = [self._schedule(pod_for(rs, template, i)) for i in range(replicas)]
        self.pods[name] = pods
        return [rs, *pods]

    def find(self, kind: str, name: str) -> Obj:
        return next(o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name)

    def replacement(self, deployment: str, index: int) -> Obj:
        """A new pod for a deployment's ReplicaSet (as after `kubectl delete pod`)."""
        dep = self.find("Deployment", deployment)
        rs = next(
            o
            for o in self.objects
            if o["kind"] == "ReplicaSet"
            and o["metadata"]["ownerReferences"][0]["name"] == deployment
        )
        return pod_for(rs, dep["spec"]["template"], index, generation="rotated")


# -- the gateway in a thread -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """The derived graph behind the gateway; changes are applied on the server's loop."""

    def __init__(self, backend: MemoryBackend, loop: asyncio.AbstractEventLoop) -> None:
        self.backend = backend
        self.loop = loop
        self.deriver = Deriver(CLUSTER)
        self.now = time.time()

    def apply(self, o: Obj, kind: envelope.EventType, at: float) -> list[graph.Change]:
        meta = o["metadata"]
        env = envelope.Envelope(
            cluster=CLUSTER,
            api_version=o.get("apiVersion", "v1"),
            kind=o["kind"],
            namespace=meta.get("namespace", ""),
            name=meta["name"],
            uid=meta["uid"],
            type=kind,
            resource_version=str(int(at * 1000)),
            observed_at=at,
            object=copy.deepcopy(o),
        )
        changes = self.deriver.apply(env).changes
        if changes:
            cs = graph.ChangeSet(time=at, changes=changes)
            if self.loop.is_running():
                asyncio.run_coroutine_threadsafe(self.backend.apply(cs), self.loop).result(10)
            else:
                # The gateway is down: the store takes the change all the same.
                self.backend.history.apply(cs)
        return changes

    def put(self, o: Obj, at: float | None = None) -> list[graph.Change]:
        return self.apply(o, envelope.EventType.ADDED, time.time() if at is None else at)

    def delete(self, o: Obj, at: float | None = None) -> list[graph.Change]:
        return self.apply(o, envelope.EventType.DELETED, time.time() if at is None else at)

    def node_id(self, type_: str, name: str) -> str:
        nodes, _ = self.deriver.snapshot()
        return next(
            n.id
            for n in nodes.values()
            if n.metadata["Type"] == type_ and n.metadata["Name"] == name
        )


class Server:
    """uvicorn serving the app on one port and one event loop, which outlive restarts."""

    def __init__(self, backend: MemoryBackend) -> None:
        self.app = create_app(GatewaySettings(feed_block_s=0.5, sse_ping_s=5.0), backend=backend)
        if not any(getattr(r, "path", None) == "/" for r in self.app.routes):
            self.app.include_router(dashboard.router)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        server = self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(server.serve(),), daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(15)
            self.server = None
            # Let the cancelled connections close their sockets (the loop lives on).
            drain = threading.Thread(
                target=self.loop.run_until_complete, args=(asyncio.sleep(0.5),), daemon=True
            )
            drain.start()
            drain.join(5)

    def close(self) -> None:
        """Stops the server and ends what is left on its loop (sse-starlette's watchers)."""
        self.stop()

        async def cancel_rest() -> None:
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        closer = threading.Thread(target=self.loop.run_until_complete, args=(cancel_rest(),))
        closer.start()
        closer.join(5)
        self.loop.close()


class Gateway:
    def __init__(
        self, server: Server, cluster: Cluster, scenario: Scenario, times: dict[str, float]
    ) -> None:
        self.server = server
        self.url = server.url
        self.cluster = cluster
        self.scenario = scenario
        self.times = times


@pytest.fixture(scope="session")
def gateway() -> Iterator[Gateway]:
    """The demo cluster: applied 10 minutes ago, wordpress pods rotated 5 minutes ago."""
    backend = MemoryBackend()
    server = Server(backend)
    server.start()
    cluster = Cluster(backend, server.loop)
    scenario = Scenario()
    now = time.time()
    times = {"created": now - 600, "rotated": now - 300, "settled": now - 240}
    for i, o in enumerate(scenario.objects):
        cluster.put(o, at=times["created"] + i * 0.01)
    # The seed's password rotation: delete the wordpress pods, the deployments make new
    # ones (DOWN while their containers are created, UP a minute later).
    fresh: list[Obj] = []
    for i, dep in enumerate(("wordpress", "wordpress-mysql")):
        for old in scenario.pods[dep]:
            cluster.delete(old, at=times["rotated"] + i * 0.01)
        pod = scenario.replacement(dep, 0)
        cluster.put(creating(copy.deepcopy(pod)), at=times["rotated"] + 1 + i * 0.01)
        fresh.append(pod)
    for i, pod in enumerate(fresh):
        cluster.put(running(pod), at=times["settled"] + i * 0.01)
    yield Gateway(server, cluster, scenario, times)
    server.close()


# -- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not for the session: Playwright's sync API keeps an
    event loop running in the main thread while it is open, and pytest-asyncio cannot run
    the async tests of later modules then."""
    if not CHROMIUM.exists():
        pytest.fail(
            "browser tests need Debian's Chromium: apt-get install -y chromium "
            "(deploy/local/bootstrap.sh does it with TOPOLOG_BROWSER=1)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Dashboard:
    """A page of the dashboard, with the questions the tests ask it."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base

    def open(self, fragment: str = "") -> Dashboard:
        self.page.goto(f"{self.base}/{'#' + fragment if fragment else ''}")
        self.page.wait_for_function("() => window.topolog && window.topolog.synced", timeout=15000)
        self.settle()
        return self

    def settle(self) -> None:
        """Waits until queries, renders and the layout are done."""
        self.page.wait_for_function(
            "() => window.topolog.renders > 0 && !window.topolog.canvas.layoutRunning",
            timeout=15000,
        )
        self.page.wait_for_timeout(150)
        self.page.wait_for_function("() => !window.topolog.canvas.layoutRunning", timeout=15000)

    def js(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def drawn(self) -> dict[str, dict[str, Any]]:
        """Every drawn node: id → {label, kind, type, members, classes, parent}."""
        return dict(
            self.js(
                """() => window.topolog.canvas.cy.nodes().map(n => [n.id(), {
                    label: n.data('label'), kind: n.data('kind'), type: n.data('type'),
                    members: n.data('members'), classes: n.classes(),
                    parent: n.parent().length ? n.parent()[0].id() : null,
                    color: n.style('background-color')}])"""
            )
        )

    def drawn_edges(self) -> dict[str, dict[str, Any]]:
        return dict(
            self.js(
                """() => window.topolog.canvas.cy.edges().map(e => [e.id(), {
                    source: e.source().id(), target: e.target().id(),
                    relation: e.data('relation'), classes: e.classes()}])"""
            )
        )

    def click(self, drawn_id: str) -> None:
        """A real mouse click on a drawn node."""
        pos = self.js("(id) => window.topolog.canvas.pagePosition(id)", drawn_id)
        assert pos is not None, f"{drawn_id} is not drawn"
        self.page.mouse.click(pos["x"], pos["y"])
        self.settle()

    def filter(self, text: str) -> None:
        self.page.fill("#filter", text)
        self.page.press("#filter", "Enter")
        self.page.wait_for_function(
            "(t) => window.topolog.filterText === t.trim()", arg=text, timeout=5000
        )
        self.settle()

    def highlight(self, text: str) -> None:
        self.page.fill("#highlight", text)
        self.page.press("#highlight", "Enter")
        self.page.wait_for_function(
            "(t) => window.topolog.highlightText === t.trim()", arg=text, timeout=5000
        )
        self.settle()

    def drawn_by_name(self, type_: str, name: str) -> dict[str, Any] | None:
        for d in self.drawn().values():
            if d["type"] == type_ and d["label"] == name and d["kind"] == "element":
                return d
        return None

    def screenshot(self, name: str, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("TOPOLOG_SCREENSHOTS") == "1":
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@contextlib.contextmanager
def _page(browser: Any, url: str) -> Iterator[Dashboard]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield Dashboard(page, url)
    context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def dash(browser: Any, gateway: Gateway) -> Iterator[Dashboard]:
    with _page(browser, gateway.url) as d:
        yield d


# -- a large cluster --------------------------------------------------------------------------

LARGE_PODS = 2000


@pytest.fixture(scope="module")
def large_gateway() -> Iterator[Gateway]:
    """The simulator's cluster of ``LARGE_PODS`` pods (deployments, statefulsets, cronjobs)."""
    backend = MemoryBackend()
    server = Server(backend)
    server.start()
    cluster = Cluster(backend, server.loop)
    now = time.time()
    sim = Simulator(seed=7, pods=LARGE_PODS, now=now - 600)
    for i, event in enumerate(sim.initial()):
        cluster.apply(event.object, event.type, now - 600 + i * 0.001)
    yield Gateway(server, cluster, Scenario(), {"created": now - 600})
    server.close()


@pytest.fixture
def large_dash(browser: Any, large_gateway: Gateway) -> Iterator[Dashboard]:
    with _page(browser, large_gateway.url) as d:
        yield d
