"""What Agent Engine cannot do of session metadata, filtered listings and forks: strict xfails on ``vertex``.

Keyed by test name (without the backend parameter); each entry is a
``tests.conformance.conftest.Divergence`` whose reason says what Agent
Engine does instead, as docs/backends.md records it. Fixing the backend
forces the entry's removal (the xfails are strict).
"""

from __future__ import annotations

from typing import Final

from tests.conformance.conftest import Divergence

VERTEX_DIVERGENCES: Final[dict[str, Divergence]] = {}
