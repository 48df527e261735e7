"""Deriving the graph: resource events in, node/edge changes and status alerts out.

``engine.Deriver`` is the entry point; ``indexes`` keeps the look-up tables that make
one event cost what it can affect, ``cascade`` keeps dependencies, states and root
causes, ``outdated`` flags pods running with an older copy of a ConfigMap/Secret, and
``alerts`` is the shape of a state transition (or of a pod becoming outdated).
"""
