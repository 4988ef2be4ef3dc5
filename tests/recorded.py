"""Where the recorded real traffic lives: ../shared/fixtures/recorded beside the checkout
(CI lays a copy of shared/ next to its clone), overridable with HANDOVER_RECORDED_FIXTURES."""

from __future__ import annotations

import os
from pathlib import Path

_BESIDE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "recorded"


def recorded_root() -> Path:
    override = os.environ.get("HANDOVER_RECORDED_FIXTURES")
    if override:
        return Path(override)
    return _BESIDE if _BESIDE.is_dir() else Path("/work/shared/fixtures/recorded")


RECORDED = recorded_root()
