"""Report commands registered on `insurtrack report` (see cli/report.py)."""

from __future__ import annotations

from insurtrack.cli.report import app  # noqa: F401
