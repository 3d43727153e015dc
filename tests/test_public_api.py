"""The public plugin API: what ``ingest.__all__`` promises resolves, and the built-in
plugins, the third-party example plugin and docs/plugins.md import only from ``ingest``
(and ``ingest.testing``), checked on their syntax trees."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
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


def test_old_module_paths_still_work_for_one_release_with_a_warning(tmp_path):
    """A 0.1 plugin imported ``ingest.outputs`` and friends by path: same modules now, and
    a DeprecationWarning naming the import to use, pointed at the plugin's own line."""
    old_style = tmp_path / "oldplugin.py"
    old_style.write_text(
        "from ingest.outputs import write_text\n"
        "import ingest.notice\n"
        "from ingest.media import choose_track\n"
    )
    code = (
        "import sys, warnings; warnings.simplefilter('always'); sys.path.insert(0, sys.argv[1]);"
        "import oldplugin, ingest;"
        "assert oldplugin.write_text is ingest.outputs.write_text;"
        "assert oldplugin.ingest.notice is ingest.notice;"
        "assert oldplugin.choose_track is ingest.choose_track"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if "DeprecationWarning" in line]
    assert len(warned) == 3, proc.stderr
    assert warned[0].startswith(f"{old_style}:1: DeprecationWarning: ingest.outputs moved to ingest.subtitles.outputs")
    assert "from ingest import outputs" in warned[0]


def test_every_moved_path_names_a_public_module():
    from ingest import _moved

    for old, new in _moved.MOVED.items():
        leaf = old.removeprefix("ingest.")
        assert leaf in ingest.__all__
        assert getattr(ingest, leaf).__name__ == new


@pytest.mark.slow
def test_a_speaker_model_assembled_before_the_move_still_loads_its_encoder():
    """0.1 checkpoints name ``ingest.ge2e``: it resolves to the moved module, without a warning."""
    code = (
        "import warnings; warnings.simplefilter('error');"
        "import ingest, ingest.ge2e as old, ingest.transcript.ge2e as new; assert old is new"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_names_split_out_of_notice_still_resolve_there_with_a_warning():
    from ingest.notify import digest, notice, redact

    with pytest.warns(DeprecationWarning, match=r"from ingest import redact"):
        assert notice.Redactor is redact.Redactor
    with pytest.warns(DeprecationWarning, match=r"from ingest import digest"):
        assert notice.Burst is digest.Burst
