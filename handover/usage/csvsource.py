"""Where an event log CSV comes from: a path, bytes, a binary stream or an iterable of
chunks (an HTTP body). polars' streaming reader wants a path or bytes, so a stream is
spooled to a temporary file first, in fixed-size pieces: memory stays flat."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .model import UsageStoreError

Source = str | Path | bytes | IO[bytes] | Iterable[bytes]
_SPOOL_PIECE = 1 << 20


def read_header(first_line: bytes) -> list[str]:
    """Column names of a header line (quoted or not, BOM tolerated)."""
    text = first_line.decode("utf-8-sig").rstrip("\r\n")
    if not text.strip():
        return []
    return [name.strip().strip('"') for name in text.split(",")]


def _first_line(data: IO[bytes]) -> bytes:
    return data.readline()


@contextmanager
def csv_input(source: Source) -> Iterator[tuple[str | bytes, list[str]]]:
    """(what to hand polars: a path or the bytes, the header's column names)."""
    if isinstance(source, str | Path):
        path = Path(source)
        with open(path, "rb") as f:
            header = read_header(_first_line(f))
        yield str(path), header
        return
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        yield data, read_header(_first_line(io.BytesIO(data)))
        return
    stream = _as_stream(source)
    with tempfile.NamedTemporaryFile(prefix="handover-elf-", suffix=".csv") as spool:
        shutil.copyfileobj(stream, spool, _SPOOL_PIECE)
        spool.flush()
        spool.seek(0)
        header = read_header(_first_line(spool))  # type: ignore[arg-type]
        yield spool.name, header


def _as_stream(source: object) -> IO[bytes]:
    if hasattr(source, "read"):
        return source  # type: ignore[return-value]
    if isinstance(source, Iterable):
        return io.BufferedReader(_ChunkReader(source), buffer_size=_SPOOL_PIECE)
    raise UsageStoreError(f"cannot read an event log from a {type(source).__name__}")


class _ChunkReader(io.RawIOBase):
    """A binary stream over an iterable of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it, self._buf = iter(chunks), b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        while not self._buf:
            nxt = next(self._it, None)
            if nxt is None:
                return 0
            self._buf = bytes(nxt)
        n = min(len(b), len(self._buf))
        b[:n], self._buf = self._buf[:n], self._buf[n:]
        return n
