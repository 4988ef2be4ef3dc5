"""The arrows of DESIGN.md, kept true by reading every source file's imports (an AST walk:
imports inside functions count too, relative ones are resolved to the module they name).

* handover/ outside handover/cli/ never imports prefect, flows, tasks or emulators: the
  core runs without Prefect, and only the shell knows the flows and the emulators;
* the pure modules (detect, plan, planning/, evidence, signals, coverage, migration/)
  never import the store, usage, the Salesforce gateway, Slack, or their libraries;
* nothing above the gateway imports simple_salesforce, nothing outside handover/slack/
  imports slack_sdk (errors are translated at those edges);
* emulators/ imports nothing of handover but handover.ids.

A failure names the file, the line, what it imports and the rule it breaks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SHELL_ONLY = ("prefect", "flows", "tasks", "emulators")
PURE_MODULES = (
    "handover/detect.py",
    "handover/plan.py",
    "handover/planning/",
    "handover/evidence.py",
    "handover/signals.py",
    "handover/coverage.py",
    "handover/migration/",
    "handover/audit/",
)
IMPURE = (
    "handover.store",
    "handover.usage",
    "handover.salesforce",
    "handover.slack",
    "sqlalchemy",
    "simple_salesforce",
    "slack_sdk",
)


@dataclass(frozen=True)
class Import:
    path: str  # relative to the root, "/"-separated
    line: int
    module: str  # absolute dotted name of what is imported


@dataclass(frozen=True)
class Rule:
    name: str
    applies_to: tuple[str, ...]  # path prefixes (a directory ends with "/")
    forbidden: tuple[str, ...]  # module prefixes
    except_in: tuple[str, ...] = ()  # path prefixes the rule does not cover
    allowed: tuple[str, ...] = ()  # module prefixes allowed even if forbidden

    def broken_by(self, imp: Import) -> bool:
        if not imp.path.startswith(self.applies_to) or imp.path.startswith(self.except_in):
            return False
        return _under(imp.module, self.forbidden) and not _under(imp.module, self.allowed)


RULES = (
    Rule(
        "the core runs without Prefect: only handover/cli/ may import prefect, flows, tasks "
        "or emulators",
        applies_to=("handover/",),
        except_in=("handover/cli/",),
        forbidden=SHELL_ONLY,
    ),
    Rule(
        "pure modules are tested without servers: no store, usage, salesforce, slack, "
        "sqlalchemy, simple_salesforce or slack_sdk",
        applies_to=PURE_MODULES,
        forbidden=IMPURE,
    ),
    Rule(
        "nothing above the gateway imports simple_salesforce (handover/salesforce/ "
        "translates its errors)",
        applies_to=("handover/",),
        except_in=("handover/salesforce/",),
        forbidden=("simple_salesforce",),
    ),
    Rule(
        "only handover/slack/ imports slack_sdk",
        applies_to=("handover/",),
        except_in=("handover/slack/",),
        forbidden=("slack_sdk",),
    ),
    Rule(
        "the emulators import nothing of handover but handover.ids",
        applies_to=("emulators/",),
        forbidden=("handover",),
        allowed=("handover.ids",),
    ),
)


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _module_of(path: Path, root: Path) -> tuple[str, bool]:
    """(dotted name, is a package) of a source file."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def imports_of(path: Path, root: Path) -> Iterator[Import]:
    """Every module ``path`` imports, as an absolute dotted name. ``from a import b``
    yields ``a.b`` (b may be a module: ``from handover import ids``) and nothing else,
    since ``a.b`` is under ``a`` for every rule that names ``a``."""
    rel = path.relative_to(root).as_posix()
    module, is_package = _module_of(path, root)
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=rel)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(rel, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                name = base if alias.name == "*" else f"{base}.{alias.name}"
                yield Import(rel, node.lineno, name)


def violations(root: Path) -> list[str]:
    found = []
    for top in ("handover", "emulators"):
        for path in sorted((root / top).rglob("*.py")):
            for imp in imports_of(path, root):
                found += [
                    f"{imp.path}:{imp.line}: imports {imp.module}: {rule.name}"
                    for rule in RULES
                    if rule.broken_by(imp)
                ]
    return found


def test_the_layers_hold() -> None:
    found = violations(ROOT)
    assert not found, "imports across the layers of DESIGN.md:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("path", "source", "broken"),
    [
        ("handover/usage/x.py", "import prefect", "only handover/cli/"),
        ("handover/store/x.py", "from tasks.plan import save_plan", "only handover/cli/"),
        ("handover/x.py", "def f():\n    from emulators.slack import server", "only handover/cli/"),
        ("handover/planning/x.py", "from ..usage import store", "pure modules"),
        ("handover/planning/sub/x.py", "from ...store.plans import PlanStore", "pure modules"),
        ("handover/detect.py", "from handover.slack import digest", "pure modules"),
        ("handover/coverage.py", "import sqlalchemy as sa", "pure modules"),
        ("handover/migration/apply.py", "from simple_salesforce import Salesforce", "pure"),
        ("handover/render.py", "import simple_salesforce", "above the gateway"),
        ("handover/usage/x.py", "from slack_sdk import WebClient", "only handover/slack/"),
        ("emulators/slack/x.py", "from handover.models import Finding", "the emulators"),
        ("emulators/x.py", "import handover", "the emulators"),
        ("emulators/salesforce/x.py", "from handover import settings", "the emulators"),
    ],
)
def test_each_rule_is_caught_with_file_line_and_rule(
    tmp_path: Path, path: str, source: str, broken: str
) -> None:
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text("from __future__ import annotations\n\n" + source + "\n")
    found = violations(tmp_path)
    assert len(found) >= 1, source
    line = 4 if source.startswith("def ") else 3
    assert found[0].startswith(f"{path}:{line}: imports "), found
    assert broken in found[0], found


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("handover/cli/app.py", "from flows.plan import plan\nimport prefect"),
        ("handover/planning/x.py", "from ..models import AccessPlan\nfrom . import naming"),
        ("handover/salesforce/x.py", "from simple_salesforce import Salesforce"),
        ("handover/slack/x.py", "from slack_sdk import WebClient"),
        ("emulators/x.py", "from handover.ids import to18\nfrom handover import ids"),
        ("handover/store/plans.py", "from ..planning.canonical import plan_hash"),
    ],
)
def test_what_the_layers_allow(tmp_path: Path, path: str, source: str) -> None:
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(source + "\n")
    assert violations(tmp_path) == []
