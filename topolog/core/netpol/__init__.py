"""Kubernetes NetworkPolicy semantics (networking.k8s.io/v1) as pure functions.

- ``ports``: protocol/port-range algebra (``PortSet``).
- ``policy``: the model (``Pod``, ``Namespace``, ``Policy`` …) parsed from API objects, and the
  matching primitives every other module uses (which pods a policy selects, which endpoints a
  rule's peers match, which ports a rule opens towards a destination).
- ``reach``: ``allowed()`` for one connection with its deciding policies, ``matrix()`` for all pods.
- ``inventory``: offline inventory from manifests (workloads expanded to one pod each).
- ``edges``: ``NetpolGraph``, the incremental networkpolicy→pod edges for the processors.
"""
