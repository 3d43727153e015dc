"""The hookspecs are the plugin documentation, and every hook is exercised by a test."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from ingest import hookspecs

TESTS = Path(__file__).resolve().parent
HOOK = re.compile(r"\bingest_[a-z_]+\b")


def hook_names() -> list[str]:
    return sorted(
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "ingest_spec") and name.startswith("ingest_")
    )


def mentions(function: ast.FunctionDef) -> set[str]:
    """What a test function names: itself, and names, attributes, keywords and strings in
    its decorators and body. Its docstring does not count: prose is not a test."""
    body = function.body[1:] if ast.get_docstring(function) is not None else function.body
    found = {hook for hook in hook_names() if hook in function.name}
    for node in (n for top in [*function.decorator_list, *body] for n in ast.walk(top)):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            found.add(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(HOOK.findall(node.value))
    return found


def hooks_with_tests() -> dict[str, list[str]]:
    """Hook name → the ``test_*`` functions (outside this file) that mention it."""
    seen: dict[str, list[str]] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                for name in mentions(node) & set(hook_names()):
                    seen.setdefault(name, []).append(f"{path.relative_to(TESTS)}::{node.name}")
    return seen


def test_the_hook_list_is_read_from_hookspecs():
    assert len(hook_names()) >= 10 and "ingest_job_finished" in hook_names()


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_has_a_test(hook):
    assert hooks_with_tests().get(hook), f"no test_* function under tests/ mentions {hook}"


@pytest.mark.parametrize("hook", hook_names())
def test_every_hookspec_says_when_it_is_called(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert re.search(r"\bcalled\b", doc, re.IGNORECASE), f"{hook}: the docstring must say when it is called"


@pytest.mark.parametrize("hook", hook_names())
def test_firstresult_hooks_say_so(hook):
    spec = getattr(hookspecs, hook).ingest_spec
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert ("first result wins" in doc.lower()) == bool(spec.get("firstresult")), hook
