"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, controller-manager,
scheduler (one Go binary built from the Go module proxy) and kwok for simulated nodes.

Flows in: the binaries built by ``deploy/local/build-binaries.sh`` into the per-user
cache, kwok's Stage configs from its Go module, ports from the platform state.
Flows out: an apiserver envtest-style (token auth, service-account keys, RBAC), a
kubeconfig in ``<state>/kube/kubeconfig`` that kubectl and topolog use, and Ready kwok
nodes on which scheduled pods go Pending → Running (or fail, or complete).
"""

from __future__ import annotations

import functools
import os
import secrets
import ssl
import subprocess
import urllib.request
from pathlib import Path

from topolog.platform import paths
from topolog.platform.process import PlatformError, ServiceProcess, wait_until
from topolog.platform.state import PlatformState

KWOK_VERSION = "v0.8.0"
POD_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
DEFAULT_NODES = 3
#: kwok Stage configs used (from the kwok module's ``kustomize/stage``): nodes become
#: Ready; pods become Ready, complete, or are deleted; the chaos stage fails a running
#: pod's container when the pod carries its label (demo and status tests use it).
KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
    "pod/chaos/pod-container-running-failed.yaml",
)
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def binaries() -> tuple[Path, Path]:
    """(controlplane, kwok), building them into the cache on first use (10-25 min cold)."""
    script = paths.deploy_dir() / "build-binaries.sh"
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PlatformError(f"building the control plane failed:\n{result.stderr[-4000:]}")
    bin_dir = Path(result.stdout.strip().splitlines()[-1])
    return bin_dir / "controlplane", bin_dir / "kwok"


def kube_dir(state: PlatformState) -> Path:
    return state.state_dir / "kube"


def token(state: PlatformState) -> str:
    return (kube_dir(state) / "token").read_text().strip()


def processes(state: PlatformState) -> dict[str, ServiceProcess]:
    return {name: ServiceProcess(name, state.run_dir) for name in COMPONENTS}


def start(state: PlatformState, *, nodes: int = DEFAULT_NODES, timeout: float = 120.0) -> None:
    controlplane, kwok = binaries()
    kdir = kube_dir(state)
    kdir.mkdir(parents=True, exist_ok=True)
    _ensure_credentials(kdir)
    procs = processes(state)
    ports = state.ports

    etcd_url = state.endpoints.etcd
    procs["etcd"].start(
        [
            str(controlplane),
            "etcd",
            "--name",
            "topolog",
            "--data-dir",
            str(state.state_dir / "etcd"),
            "--listen-client-urls",
            etcd_url,
            "--advertise-client-urls",
            etcd_url,
            "--listen-peer-urls",
            f"http://127.0.0.1:{ports['etcd_peer']}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{ports['etcd_peer']}",
            "--initial-cluster",
            f"topolog=http://127.0.0.1:{ports['etcd_peer']}",
            "--unsafe-no-fsync",
            "--quota-backend-bytes",
            str(8 * 1024**3),
            "--log-level",
            "warn",
        ]
    )
    wait_until(
        lambda: b"true" in _get(f"{etcd_url}/health"),
        what="etcd health",
        timeout=timeout,
        process=procs["etcd"],
    )

    procs["kube-apiserver"].start(
        [
            str(controlplane),
            "kube-apiserver",
            f"--etcd-servers={etcd_url}",
            f"--cert-dir={kdir / 'certs'}",
            f"--secure-port={ports['apiserver']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={kdir / 'sa.pub'}",
            f"--service-account-signing-key-file={kdir / 'sa.key'}",
            f"--token-auth-file={kdir / 'tokens.csv'}",
            "--enable-priority-and-fairness=false",
            "--v=0",
        ]
    )
    server = f"https://127.0.0.1:{ports['apiserver']}"
    wait_until(
        lambda: _get(f"{server}/readyz", token(state)) == b"ok",
        what="kube-apiserver /readyz",
        timeout=timeout,
        process=procs["kube-apiserver"],
    )
    # The apiserver generated its serving certificate and CA at start; trust exactly it.
    kubeconfig = _write_kubeconfig(state)

    procs["kube-controller-manager"].start(
        [
            str(controlplane),
            "kube-controller-manager",
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--service-account-private-key-file={kdir / 'sa.key'}",
            f"--root-ca-file={kdir / 'certs' / 'apiserver.crt'}",
            "--leader-elect=false",
            "--use-service-account-credentials=false",
            f"--secure-port={ports['controller_manager']}",
            "--bind-address=127.0.0.1",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--v=0",
        ]
    )
    procs["kube-scheduler"].start(
        [
            str(controlplane),
            "kube-scheduler",
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--leader-elect=false",
            f"--secure-port={ports['scheduler']}",
            "--bind-address=127.0.0.1",
            "--v=0",
        ]
    )
    for name, port in (
        ("kube-controller-manager", "controller_manager"),
        ("kube-scheduler", "scheduler"),
    ):
        url = f"https://127.0.0.1:{ports[port]}/healthz"
        wait_until(
            functools.partial(_healthy, url),
            what=f"{name} /healthz",
            timeout=timeout,
            process=procs[name],
        )

    stages = _write_kwok_stages(state)
    procs["kwok"].start(
        [
            str(kwok),
            f"--kubeconfig={kubeconfig}",
            "--manage-all-nodes=true",
            f"--config={stages}",
            f"--cidr={POD_CIDR}",
            "--node-lease-duration-seconds=40",
            f"--server-address=127.0.0.1:{ports['kwok']}",
        ]
    )
    _ensure_nodes(state, nodes)
    wait_until(
        lambda: _ready_nodes(state) >= nodes,
        what=f"{nodes} Ready kwok nodes",
        timeout=timeout,
        process=procs["kwok"],
    )


def stop(state: PlatformState) -> None:
    for name in reversed(COMPONENTS):
        processes(state)[name].stop()


def running(state: PlatformState) -> dict[str, bool]:
    return {name: proc.running() for name, proc in processes(state).items()}


def apiserver_ready(state: PlatformState) -> bool:
    try:
        return _get(f"https://127.0.0.1:{state.ports['apiserver']}/readyz", token(state)) == b"ok"
    except Exception:
        return False


def _ensure_credentials(kdir: Path) -> None:
    if not (kdir / "token").exists():
        (kdir / "token").write_text(secrets.token_hex(24))
    tok = (kdir / "token").read_text().strip()
    (kdir / "tokens.csv").write_text(f'{tok},admin,admin-uid,"system:masters"\n')
    if not (kdir / "sa.key").exists():
        subprocess.run(
            ["openssl", "genrsa", "-out", str(kdir / "sa.key"), "2048"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                "openssl",
                "rsa",
                "-in",
                str(kdir / "sa.key"),
                "-pubout",
                "-out",
                str(kdir / "sa.pub"),
            ],
            check=True,
            capture_output=True,
        )


def _write_kubeconfig(state: PlatformState) -> Path:
    path = Path(state.endpoints.kubeconfig)
    path.write_text(f"""\
apiVersion: v1
kind: Config
clusters:
- name: topolog-local
  cluster:
    server: https://127.0.0.1:{state.ports["apiserver"]}
    certificate-authority: {kube_dir(state) / "certs" / "apiserver.crt"}
users:
- name: admin
  user:
    token: {token(state)}
contexts:
- name: topolog-local
  context: {{cluster: topolog-local, user: admin}}
current-context: topolog-local
""")
    os.chmod(path, 0o600)
    return path


def _write_kwok_stages(state: PlatformState) -> Path:
    module = subprocess.run(
        ["go", "mod", "download", "-json", f"sigs.k8s.io/kwok@{KWOK_VERSION}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=paths.deploy_dir() / "controlplane",
    )
    import orjson

    root = Path(orjson.loads(module.stdout)["Dir"]) / "kustomize" / "stage"
    docs = [(root / rel).read_text() for rel in KWOK_STAGES]
    out = kube_dir(state) / "kwok-stages.yaml"
    out.write_text("\n---\n".join(docs))
    return out


def _node_manifest(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                "topology.kubernetes.io/zone": f"zone-{name[-1]}",
            },
        },
        "spec": {},
        "status": {
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "10000"},
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "10000"},
        },
    }


def _ensure_nodes(state: PlatformState, count: int) -> None:
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException

    api = client.CoreV1Api(config.new_client_from_config(config_file=state.endpoints.kubeconfig))
    for i in range(count):
        try:
            api.create_node(_node_manifest(f"kwok-node-{i}"))
        except ApiException as exc:
            if exc.status != 409:
                raise


def _ready_nodes(state: PlatformState) -> int:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=state.endpoints.kubeconfig))
    ready = 0
    for node in api.list_node().items:
        for cond in node.status.conditions or []:
            if cond.type == "Ready" and cond.status == "True":
                ready += 1
    return ready


def _healthy(url: str) -> bool:
    return _get(url) == b"ok"


def _get(url: str, bearer: str | None = None) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(url)
    if bearer:
        req.add_header("Authorization", f"Bearer {bearer}")
    with urllib.request.urlopen(req, timeout=3, context=ctx) as resp:
        return bytes(resp.read())
