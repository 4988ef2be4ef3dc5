"""The base of every model: immutable, and strict about unknown fields (a typo in a
key is an error, not a silently ignored value)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
