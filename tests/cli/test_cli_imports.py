"""The command line is a front end: importing it loads neither the TUI nor the server nor the engine."""

import subprocess
import sys


def test_cli_import_is_light():
    code = ("import sys, preclinical.cli; "
            "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith(('preclinical.tui', "
            "'preclinical.server', 'preclinical.engine', 'preclinical.runtime'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_entry_point_and_version():
    out = subprocess.run([sys.executable, "-m", "preclinical", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("preclinical ")
    out = subprocess.run([sys.executable, "-m", "preclinical", "runs", "--bogus"], capture_output=True, text=True)
    assert out.returncode == 64 and "No such option '--bogus'" in out.stderr
