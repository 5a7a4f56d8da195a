"""The core must import without Textual (headless `serve` and workers never load the TUI), and nothing uses the
openai SDK (model calls go over aiohttp)."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest


@pytest.mark.parametrize("module", ["preclinical.engine", "preclinical.store.models", "preclinical.server.app",
                                    "preclinical.runtime", "preclinical.library"])
def test_core_does_not_import_textual(module):
    code = f"import sys, {module}; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_server_does_not_import_the_tui():
    code = "import sys, preclinical.server.app; print(any(m.startswith('preclinical.tui') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_starting_without_a_model_does_not_load_the_openai_sdk():
    # The SDK takes ~0.4 s to import; the offline engine and the interface's first paint never need it.
    code = "import sys, preclinical.runtime, preclinical.server.app, preclinical.tui.app; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


ROOT = Path(__file__).resolve().parents[2]


def test_nothing_imports_the_openai_sdk_and_it_is_not_a_dependency():
    # Model calls go straight to any OpenAI-compatible endpoint over aiohttp with orjson: 0.37 ms of CPU per call
    # against 0.86 ms through the SDK. A stray import would fail on a clean install, where the SDK is not there.
    found = []
    for path in [*(ROOT / "preclinical").rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            found += [f"{path.relative_to(ROOT)}:{node.lineno}" for n in names if n.split(".")[0] == "openai"]
    assert found == []
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["dependencies"] + [d for group in project["optional-dependencies"].values() for d in group]
    assert not [d for d in declared if d.split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip() == "openai"]
