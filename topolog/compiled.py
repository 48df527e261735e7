"""The pure domain modules compiled by mypyc, used in place of their sources when a build
of exactly these sources exists.

Flows in: the sources of ``MODULES`` — the deriver's rules, kinds, selectors, statuses and
network-policy semantics, and the pure parts of the stages' hot paths (envelopes, batch
decoding and routing, the store's encodings and feed records, the gateway's mirror):
typed, mypy-clean Python over dicts and small classes, no I/O.
Flows out: a build of them (C extensions made by mypyc, the compiler mypy and black ship
with) in the per-user cache, ``<cache>/mypyc/<digest>/``, and an import hook (``install``,
run when ``topolog`` is imported) that loads a module from the build instead of its
source. The deriver runs 1.2 to 1.4 times as fast (``bench/deriver_bench.py``: the same
digest of every change and alert, compiled or not); code that mostly calls ``orjson``
gains ~10 %.

Never stale: a build is named by the digest of the compiled modules' sources and of the
interpreter's ABI. An edited source has another digest, so it runs from source until
``topolog dev compile`` (which ``deploy/local/bootstrap.sh`` runs: ``make test``,
``make demo``) builds it; a fresh clone of the same commit finds the build of any other
clone. ``TOPOLOG_COMPILED=0`` runs the sources whatever is built.

Only leaf modules are compiled (never a package's ``__init__``), so packages and every
other module import as usual. A compiled module cannot be monkeypatched from outside: its
calls to its own functions are bound at build time (tests inject collaborators instead,
e.g. ``NetpolGraph(pairs=...)``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

from topolog import cachedir

#: The modules compiled, by name (leaf modules only). What they import that is not here
#: runs from source as usual. Not here: a module whose values of a ``tuple`` subclass
#: from elsewhere pass through ``tuple``-typed code — mypyc unboxes fixed-length tuples
#: and boxes them again as plain tuples (``processors.timeorder`` handed aiokafka plain
#: tuples for its ``TopicPartition``s, which its commit rejects) — and a module whose
#: callers' tests monkeypatch what it calls (``processors.deriving``: ``Deriver.apply``).
MODULES: tuple[str, ...] = (
    "gateway.mirror",
    "processors.batches",
    "processors.routing",
    "store.encoding",
    "store.feedrecords",
    "store.scriptargs",
    "topolog.core.derive.alerts",
    "topolog.core.derive.cascade",
    "topolog.core.derive.engine",
    "topolog.core.derive.indexes",
    "topolog.core.derive.outdated",
    "topolog.core.envelope",
    "topolog.core.graph",
    "topolog.core.kinds.cluster",
    "topolog.core.kinds.configmap",
    "topolog.core.kinds.container",
    "topolog.core.kinds.cronjob",
    "topolog.core.kinds.daemonset",
    "topolog.core.kinds.deployment",
    "topolog.core.kinds.endpoints",
    "topolog.core.kinds.endpointslice",
    "topolog.core.kinds.fields",
    "topolog.core.kinds.horizontalpodautoscaler",
    "topolog.core.kinds.ingress",
    "topolog.core.kinds.job",
    "topolog.core.kinds.namespace",
    "topolog.core.kinds.networkpolicy",
    "topolog.core.kinds.node",
    "topolog.core.kinds.persistentvolume",
    "topolog.core.kinds.persistentvolumeclaim",
    "topolog.core.kinds.pod",
    "topolog.core.kinds.refs",
    "topolog.core.kinds.replicaset",
    "topolog.core.kinds.replicationcontroller",
    "topolog.core.kinds.secret",
    "topolog.core.kinds.service",
    "topolog.core.kinds.serviceaccount",
    "topolog.core.kinds.statefulset",
    "topolog.core.kinds.storageclass",
    "topolog.core.netpol.edges",
    "topolog.core.netpol.policy",
    "topolog.core.netpol.ports",
    "topolog.core.selectors",
    "topolog.core.status",
)

#: mypyc's group name: its shared library is ``<GROUP>__mypyc`` (a top-level module).
GROUP = "topolog_core"
#: Bumped when the build's options change (a new digest for the same sources).
FORMAT = "1"
#: Written last into a build directory: the build is complete.
COMPLETE = "COMPLETE"
#: Builds kept in the cache (other commits' and checkouts'); older ones are removed.
KEEP = 8
#: The environment variable that turns compiled modules off (``0``).
SWITCH = "TOPOLOG_COMPILED"

_EXT_SUFFIX: str = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def source_root() -> Path:
    """The directory holding the ``topolog`` package (a checkout or site-packages)."""
    return Path(__file__).resolve().parent.parent


def source_path(module: str, root: Path | None = None) -> Path:
    return (root or source_root()).joinpath(*module.split(".")).with_suffix(".py")


def digest(root: Path | None = None, modules: Sequence[str] = MODULES) -> str:
    """What a build is named by: the interpreter's ABI, the build format and every compiled
    module's name and source bytes (16 hex digits)."""
    h = hashlib.sha256(f"{sys.version}\n{_EXT_SUFFIX}\n{FORMAT}\n".encode())
    for module in modules:
        h.update(f"{module}\n".encode())
        h.update(source_path(module, root).read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def build_dir(root: Path | None = None) -> Path:
    """Where the build of the current sources is (or would be)."""
    return cachedir.current() / "mypyc" / digest(root)


class _Finder:
    """Loads the modules of one build from its directory (a ``sys.meta_path`` finder put
    before any other)."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        return importlib.util.spec_from_file_location(fullname, file)


def extension_names() -> list[str]:
    """The modules a build holds: ``MODULES`` and mypyc's shared library."""
    return [*MODULES, f"{GROUP}__mypyc"]


def extension_path(build: Path, name: str) -> Path:
    """Where a build holds the extension of module ``name``."""
    return build.joinpath(*name.split(".")).with_name(name.rsplit(".", 1)[-1] + _EXT_SUFFIX)


def files_of(build: Path) -> dict[str, Path]:
    """Module name → extension file of a complete build (empty if it is not complete)."""
    if not (build / COMPLETE).is_file():
        return {}
    files = {name: extension_path(build, name) for name in extension_names()}
    return files if all(f.is_file() for f in files.values()) else {}


_installed: _Finder | None = None


def install() -> bool:
    """Serve ``MODULES`` from the build of the current sources, if there is one and
    ``TOPOLOG_COMPILED`` is not ``0``. Whether compiled modules are in use."""
    global _installed
    if _installed is not None:
        return True
    if os.environ.get(SWITCH, "1") == "0":
        return False
    try:
        files = files_of(build_dir())
    except OSError:  # a source unreadable (an odd install): run from source
        return False
    if not files:
        return False
    _installed = _Finder(files)
    sys.meta_path.insert(0, _installed)
    return True


def active() -> bool:
    """Whether this process loads ``MODULES`` compiled (for logs and benchmarks)."""
    return _installed is not None


def build(*, root: Path | None = None, quiet: bool = True) -> Path:
    """Compile ``MODULES`` of ``root`` into the cache unless already built; the build's
    directory. Needs mypy (a dev dependency) and a C compiler. ``quiet``: mypyc's and the
    compiler's output go to ``build_log()`` instead of this process's stdout/stderr."""
    root = root or source_root()
    target = cachedir.current() / "mypyc" / digest(root)
    if files_of(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    log = build_log()
    import tempfile

    from mypyc.build import mypycify  # a dev dependency: only a build needs it
    from setuptools import setup  # type: ignore[import-untyped]

    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        work = Path(tmp)
        paths = [str(source_path(m, root).relative_to(root)) for m in MODULES]
        cwd = Path.cwd()
        os.chdir(root)  # mypy resolves imports (and reads its config) from here
        try:
            with _output_to(log if quiet else None):
                extensions = mypycify(
                    paths, group_name=GROUP, target_dir=str(work / "c"), verbose=not quiet
                )
                setup(
                    name="topolog-compiled",
                    ext_modules=extensions,
                    script_args=[
                        *(["--quiet"] if quiet else []),
                        "build_ext",
                        "--build-lib",
                        str(work / "lib"),
                        "--build-temp",
                        str(work / "tmp"),
                    ],
                )
        finally:
            os.chdir(cwd)
        lib = work / "lib"
        (lib / COMPLETE).write_text("\n".join(MODULES) + "\n")
        try:
            lib.rename(target)
        except OSError:
            if not files_of(target):  # not a concurrent build that finished first
                raise
    prune()
    return target


def build_log() -> Path:
    """Where a quiet ``build`` writes its output (the last build's)."""
    return cachedir.current() / "mypyc" / "build.log"


@contextlib.contextmanager
def _output_to(path: Path | None) -> Iterator[None]:
    """stdout and stderr — this process's and its children's (the C compiler) — into
    ``path`` (None: unchanged)."""
    if path is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("wb") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def prune(keep: int = KEEP) -> list[Path]:
    """Remove all but the ``keep`` most recently made builds; those removed."""
    import shutil

    builds = sorted(
        (
            d
            for d in (cachedir.current() / "mypyc").glob("*")
            if d.is_dir() and not d.name.startswith(".")
        ),
        key=lambda d: d.stat().st_mtime,
        reverse=True,
    )
    for old in builds[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return builds[keep:]
