"""Loading the recorded real Salesforce traffic, and comparing JSON by structure.

The recordings live in ``/work/shared/fixtures/recorded`` (override with the
``HANDOVER_RECORDED_FIXTURES`` environment variable); see its README.md for where each
folder comes from and which files were edited by hand.

* :func:`cassette` loads a CumulusCI vcrpy cassette with its ``include_file:`` entries
  resolved (the named shared file's single ``request``/``response`` pair is spliced in) and
  YAML anchors/aliases expanded. :func:`interactions` filters it by method and URL.
* :func:`nock` loads a grouparoo ``nock.recorder`` capture (converted to JSON);
  :func:`nock_headers` turns its flat ``[name, value, ...]`` header list into a dict.
* :func:`load_json` / :func:`load_text` read the plain files.
* :func:`shape` maps a JSON value to its structural signature and :func:`diff_shapes`
  lists where an emulator's signature departs from a recorded one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import yaml

from tests.recorded import RECORDED

ROOT = RECORDED


def available() -> bool:
    return (ROOT / "MANIFEST.csv").is_file()


def path(relative: str) -> Path:
    return ROOT / relative


# ---------------------------------------------------------------------- plain files


def load_text(relative: str) -> str:
    return path(relative).read_text(encoding="utf-8")


def load_json(relative: str) -> Any:
    return json.loads(load_text(relative))


# ---------------------------------------------------------------------- CumulusCI cassettes


@dataclass(frozen=True)
class Interaction:
    """One recorded request/response pair of a cassette."""

    method: str
    uri: str
    request_body: Any
    status: int
    headers: dict[str, Any]
    body: Any  # the raw body: a str (JSON or XML or CSV text) or whatever the YAML held

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def query(self) -> str:
        """The decoded query string (``q=select count() from Account``)."""
        return unquote_plus(urlsplit(self.uri).query)

    def json(self) -> Any:
        return json.loads(self.body)


@cache
def _cumulusci_yaml(name: str) -> Any:
    return yaml.safe_load(path(f"cumulusci/{name}").read_text(encoding="utf-8"))


def _resolve(entry: Any) -> Iterator[dict[str, Any]]:
    """An interactions entry with ``include_file`` replaced by the shared file's pair."""
    if isinstance(entry, dict) and "include_file" in entry:
        shared = _cumulusci_yaml(str(entry["include_file"]).strip())
        if "interactions" in shared:
            for inner in shared["interactions"]:
                yield from _resolve(inner)
        else:
            yield {"request": shared["request"], "response": shared["response"]}
    elif isinstance(entry, dict) and "request" in entry:
        yield entry


def _interaction(raw: dict[str, Any]) -> Interaction:
    req, resp = raw["request"], raw["response"]
    body = resp.get("body")
    if isinstance(body, dict) and "string" in body:
        body = body["string"]
    return Interaction(
        method=str(req["method"]).upper(),
        uri=str(req["uri"]),
        request_body=req.get("body"),
        status=int(resp["status"]["code"]),
        headers=dict(resp.get("headers") or {}),
        body=body,
    )


def cassette(name: str) -> list[Interaction]:
    """Every interaction of ``cumulusci/<name>``, include_file entries spliced in.

    A shared single-pair file (``GET_sobjects_Account_describe.yaml``) loads as a cassette
    of one interaction.
    """
    data = copy.deepcopy(_cumulusci_yaml(name))
    entries = data.get("interactions") if "interactions" in data else [data]
    out: list[Interaction] = []
    for entry in entries or []:
        out.extend(_interaction(raw) for raw in _resolve(entry))
    return out


def interactions(
    name: str, method: str | None = None, path_contains: str = "", query_contains: str = ""
) -> list[Interaction]:
    return [
        i
        for i in cassette(name)
        if (method is None or i.method == method.upper())
        and path_contains in i.path
        and query_contains.lower() in i.query.lower()
    ]


def cassette_json(name: str) -> Any:
    """The JSON body of a shared single-pair file (a describe, the Organization record)."""
    (only,) = cassette(name)
    return only.json()


# ---------------------------------------------------------------------- grouparoo nock captures


def nock(relative: str) -> list[dict[str, Any]]:
    """A grouparoo capture: entries with method, path, status, responseBody, responseHeaders."""
    return load_json(f"grouparoo-salesforce-nock/{relative}")


def nock_headers(entry: dict[str, Any]) -> dict[str, str]:
    """The flat ``[name, value, name, value, ...]`` list as a dict (lower-case names; a
    repeated header such as Set-Cookie keeps its last value)."""
    flat = entry.get("responseHeaders") or []
    return {str(flat[i]).lower(): str(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


def all_nock_entries() -> Iterator[tuple[str, dict[str, Any]]]:
    for p in sorted(path("grouparoo-salesforce-nock").rglob("*.json")):
        rel = str(p.relative_to(path("grouparoo-salesforce-nock")))
        for entry in nock(rel):
            yield rel, entry


# ---------------------------------------------------------------------- structural signatures

NULL = "null"
_SCALARS = {type(None): NULL, bool: "bool", int: "int", float: "float", str: "str"}


class OneOf(tuple):
    """A union of structurally different shapes (say a dict in one record, a str in another)."""

    def __repr__(self) -> str:
        return "OneOf" + super().__repr__()


def _scalar_parts(s: str) -> set[str]:
    return set(s.split("|"))


def merge(a: Any, b: Any) -> Any:
    """The union of two shapes: dict keys are merged, scalar types joined with ``|``."""
    if a == b:
        return a
    if isinstance(a, str) and isinstance(b, str):
        return "|".join(sorted(_scalar_parts(a) | _scalar_parts(b)))
    if a == NULL or b == NULL:  # a nullable structure: keep the structure, note the null
        other = b if a == NULL else a
        return OneOf((*_alternatives(other), NULL)) if not isinstance(other, OneOf) else other
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(out[k], v) if k in out else v
        return out
    if isinstance(a, list) and isinstance(b, list):
        if not a or not b:
            return a or b
        return [merge(a[0], b[0])]
    alts: list[Any] = []
    for alt in (*_alternatives(a), *_alternatives(b)):
        for i, have in enumerate(alts):
            if type(have) is type(alt) and not isinstance(alt, str):
                alts[i] = merge(have, alt)
                break
        else:
            if alt not in alts:
                alts.append(alt)
    return OneOf(alts)


def _alternatives(s: Any) -> tuple[Any, ...]:
    return tuple(s) if isinstance(s, OneOf) else (s,)


def shape(value: Any, *, ignore: Iterable[str] = ()) -> Any:
    """The structural signature of a JSON value.

    * dict -> ``{key: shape}`` (keys in ``ignore`` dropped, at any depth);
    * list -> ``[union of the element shapes]`` (``[]`` when empty);
    * str / int / float / bool / None -> ``"str"``, ``"int"``, ``"float"``, ``"bool"``,
      ``"null"``; a union of scalar types reads ``"null|str"``.
    """
    skip = frozenset(ignore)
    return _shape(value, skip)


def _shape(value: Any, skip: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v, skip) for k, v in value.items() if k not in skip}
    if isinstance(value, list):
        out: Any = None
        for item in value:
            s = _shape(item, skip)
            out = s if out is None else merge(out, s)
        return [] if out is None else [out]
    for t, name in _SCALARS.items():
        if type(value) is t:
            return name
    raise TypeError(f"not a JSON value: {value!r}")


def keys_of(items: Iterable[dict[str, Any]], *, ignore: Iterable[str] = ()) -> set[str]:
    skip = set(ignore)
    return {k for item in items for k in item if k not in skip}


def diff_shapes(
    expected: Any,
    actual: Any,
    *,
    ignore: Iterable[str] = (),
    allow_missing: Iterable[str] = (),
    allow_extra: Iterable[str] = (),
    open_keys: Iterable[str] = (),
    strict_numbers: bool = False,
    path: str = "$",
) -> list[str]:
    """Where ``actual`` (the emulator's shape) departs from ``expected`` (the recording's).

    Empty list = same shape. Rules:

    * a key in one dict and not the other is a difference, unless named in ``ignore``
      (both directions), ``allow_missing`` (absent from the emulator) or ``allow_extra``
      (only the emulator has it);
    * a dict reached through a key in ``open_keys`` is a bag of records whose key set is
      data (a query row's field names, /limits' per-app entries): only the common keys are
      compared;
    * ``null`` matches any type (values vary: a null in one recording is a string in another);
    * ``int`` and ``float`` are one "number" type unless ``strict_numbers`` (real Salesforce
      writes a double as ``400`` or ``300.0`` in the same response);
    * an empty list matches any list.
    """
    opts = {
        "ignore": frozenset(ignore),
        "missing": frozenset(allow_missing),
        "extra": frozenset(allow_extra),
        "open": frozenset(open_keys),
        "strict": strict_numbers,
    }
    out: list[str] = []
    _diff(expected, actual, path, opts, out, open_here=False)
    return out


def _types(s: str, strict: bool) -> set[str]:
    parts = _scalar_parts(s) - {NULL}
    if not strict and parts & {"int", "float"}:
        parts = (parts - {"int", "float"}) | {"number"}
    return parts


def _kind(s: Any) -> str:
    if isinstance(s, dict):
        return "object"
    if isinstance(s, list):
        return "array"
    if isinstance(s, OneOf):
        return "oneOf"
    return "scalar"


def _describe(s: Any) -> str:
    if isinstance(s, dict):
        return "object{" + ",".join(sorted(s)) + "}"
    if isinstance(s, list):
        return "array"
    return repr(s) if isinstance(s, OneOf) else str(s)


def _diff(exp: Any, act: Any, path: str, o: dict, out: list[str], *, open_here: bool) -> None:
    if exp == NULL or act == NULL:
        return
    if isinstance(exp, OneOf) or isinstance(act, OneOf):
        e_alts = [a for a in _alternatives(exp) if a != NULL]
        for alt in (a for a in _alternatives(act) if a != NULL):
            if not any(_kind(alt) == _kind(e) and not _sub(e, alt, o) for e in e_alts):
                out.append(f"{path}: {_describe(alt)} not among recorded {_describe(exp)}")
        return
    if _kind(exp) != _kind(act):
        out.append(f"{path}: recorded {_describe(exp)}, emulator {_describe(act)}")
        return
    if isinstance(exp, dict):
        if not open_here:
            for k in sorted(set(exp) - set(act) - o["ignore"] - o["missing"]):
                out.append(f"{path}: missing key {k!r}")
            for k in sorted(set(act) - set(exp) - o["ignore"] - o["extra"]):
                out.append(f"{path}: unexpected key {k!r}")
        for k in sorted(set(exp) & set(act) - o["ignore"]):
            _diff(exp[k], act[k], f"{path}.{k}", o, out, open_here=k in o["open"])
        return
    if isinstance(exp, list):
        if exp and act:
            _diff(exp[0], act[0], f"{path}[]", o, out, open_here=open_here)
        return
    e, a = _types(exp, o["strict"]), _types(act, o["strict"])
    if e and a - e:
        out.append(f"{path}: recorded {exp}, emulator {act}")


def _sub(exp: Any, act: Any, o: dict) -> list[str]:
    tmp: list[str] = []
    _diff(exp, act, "", o, tmp, open_here=False)
    return tmp
