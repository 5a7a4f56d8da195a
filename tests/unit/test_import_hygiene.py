"""The core must import without Textual (headless `serve` and workers never load the TUI)."""

import subprocess
import sys

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
