"""Deriving the graph: resource events in, node/edge changes and status alerts out.

``engine.Deriver`` is the entry point; ``indexes`` keeps the look-up tables that make
one event cost what it can affect, ``cascade`` keeps dependencies, states and root
causes, ``alerts`` is the shape of a state transition.
"""
