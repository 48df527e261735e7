"""Routers, one per concern: topology (Skydive's API), nodes (the /api/v1 reads), reach,
stream and alerts (SSE), health (probes and metrics)."""
