"""topolog: the Kubernetes topology as an event log.

Importing the package serves the pure domain modules compiled when a build of their
current sources exists (``topolog.compiled``; ``TOPOLOG_COMPILED=0``: never).
"""

from topolog import compiled as _compiled

_compiled.install()
