"""serviceaccount: secret names and token mounting."""

from __future__ import annotations

from topolog.core.kinds import serviceaccount


def test_metadata() -> None:
    obj = {
        "metadata": {"name": "robot", "namespace": "ns"},
        "secrets": [{"name": "t"}],
        "imagePullSecrets": [{"name": "pull"}],
        "automountServiceAccountToken": False,
    }
    assert serviceaccount.metadata(obj) == {
        "Secrets": ["t"],
        "ImagePullSecrets": ["pull"],
        "AutomountServiceAccountToken": False,
    }
