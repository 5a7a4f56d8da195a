"""Headless Chromium over the DevTools protocol (aiohttp websocket): open a file, collect console errors, screenshot.

Only what the report test needs: no third-party driver. Chromium is Debian's `chromium` package.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--remote-debugging-port=0"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageVisit:
    errors: list[str] = field(default_factory=list)  # console errors, uncaught exceptions, failed loads, CSP reports
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    screenshot: bytes = b""
    values: dict[str, Any] = field(default_factory=dict)  # results of the expressions asked for


class _Session:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, visit: PageVisit) -> None:
        self.ws, self.visit, self.ids = ws, visit, itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.loaded = asyncio.Event()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self.pending:
                self.pending.pop(data["id"]).set_result(data)
                continue
            method, params = data.get("method"), data.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                self.visit.errors.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                                 for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                self.visit.errors.append(f"exception: {details.get('text', '')} "
                                         f"{(details.get('exception') or {}).get('description', '')}".strip())
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                self.visit.errors.append(f"log ({params['entry'].get('source')}): {params['entry'].get('text')}")
            elif method == "Network.requestWillBeSent":
                self.visit.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                self.visit.errors.append(f"load failed: {params.get('errorText')}")
            elif method == "Page.loadEventFired":
                self.loaded.set()

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        key = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        await self.ws.send_str(json.dumps({"id": key, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})


async def visit(path: Path, *, width: int = 1200, height: int = 900, full_page: bool = False,
                max_height: int = 2400, expressions: dict[str, str] | None = None,
                timeout: float = 60.0) -> PageVisit:
    """Open a local file in headless Chromium and report what happened."""
    binary = chromium_path()
    if binary is None:
        raise RuntimeError("Chromium is not installed (Debian: apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="preclinical-chromium-")
    process = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "HOME": profile})
    result = PageVisit()
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        async with asyncio.timeout(timeout):
            while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
                if process.poll() is not None:
                    raise RuntimeError(f"Chromium exited with {process.returncode}")
                await asyncio.sleep(0.1)
            port = int(port_file.read_text().splitlines()[0])
            async with aiohttp.ClientSession() as http:
                targets = await (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
                page = next(t for t in targets if t.get("type") == "page")
                async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    session = _Session(ws, result)
                    for domain in ("Runtime", "Log", "Network", "Page"):
                        await session.call(f"{domain}.enable")
                    await session.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                                       deviceScaleFactor=1, mobile=False)
                    await session.call("Page.navigate", url=path.resolve().as_uri())
                    await session.loaded.wait()
                    await asyncio.sleep(0.3)  # late console messages
                    for name, expression in (expressions or {}).items():
                        answer = await session.call("Runtime.evaluate", expression=expression, returnByValue=True)
                        result.values[name] = answer.get("result", {}).get("value")
                    if full_page:
                        metrics = await session.call("Page.getLayoutMetrics")
                        content = metrics.get("cssContentSize") or metrics["contentSize"]
                        await session.call("Emulation.setDeviceMetricsOverride", width=width,
                                           height=min(int(content["height"]), max_height), deviceScaleFactor=1,
                                           mobile=False)
                    shot = await session.call("Page.captureScreenshot", format="png")
                    result.screenshot = base64.b64decode(shot["data"])
                    session.reader.cancel()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return result
