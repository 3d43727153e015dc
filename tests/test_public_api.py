"""The public plugin API: what ``ingest.__all__`` promises resolves, and the built-in
plugins, the third-party example plugin and docs/plugins.md import only from ``ingest``
(and ``ingest.testing``), checked on their syntax trees."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import ingest
import ingest.plugins

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"ingest", "ingest.testing"}


def sources() -> list[tuple[str, str]]:
    files = sorted((ROOT / "plugins").rglob("*.py")) + sorted((ROOT / "tests/thirdparty").rglob("*.py"))
    found = [(str(f.relative_to(ROOT)), f.read_text()) for f in files]
    doc = (ROOT / "docs/plugins.md").read_text()
    for n, block in enumerate(re.findall(r"```python\n(.*?)```", doc, flags=re.S)):
        found.append((f"docs/plugins.md (python block {n + 1})", block))
    return found


def ingest_imports(text: str) -> list[tuple[str, list[str]]]:
    """(module, names) for every import of ingest or one of its submodules."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "ingest" or node.module.startswith("ingest."):
                found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name == "ingest" or a.name.startswith("ingest.")]
    return found


@pytest.mark.parametrize("where, text", sources(), ids=lambda v: v if "/" in v or ".md" in v else "")
def test_plugins_and_docs_import_only_the_public_api(where, text):
    wrong = []
    for module, names in ingest_imports(text):
        if module not in ALLOWED:
            wrong.append(f"{module} (import from ingest instead)")
        elif module == "ingest":
            wrong += [f"ingest.{name} (not in ingest.__all__)" for name in names if name not in ingest.__all__]
    assert not wrong, f"{where}: {wrong}"


def test_the_check_sees_deep_imports():
    bad = "from ingest.models import Job\nimport ingest.cues\nfrom ingest import Job, secret_thing\n"
    assert ingest_imports(bad) == [("ingest.models", ["Job"]), ("ingest.cues", []), ("ingest", ["Job", "secret_thing"])]


def test_every_public_name_resolves():
    missing = [name for name in ingest.__all__ if not hasattr(ingest, name)]
    assert not missing
    assert len(set(ingest.__all__)) == len(ingest.__all__)


def test_hookimpl_is_the_hosts_marker():
    assert ingest.hookimpl is ingest.plugins.hookimpl
    assert ingest.hookimpl.project_name == ingest.plugins.GROUP
