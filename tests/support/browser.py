"""A real Chromium, headless, driven over the W3C WebDriver protocol by the system chromedriver.

No client library: chromedriver speaks JSON over HTTP, and the three calls a test needs
(open a session, load a page, run a script that answers when it is done) are a few
lines of urllib. Debian's packages: ``apt-get install chromium chromium-driver``
(``scripts/setup.sh`` installs them).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

INSTALL = "apt-get install chromium chromium-driver"
START_TIMEOUT = 15.0  # seconds for chromedriver to answer, and again for Chromium to start
SCRIPT_TIMEOUT = 10.0


class Browser:
    """One headless Chromium session."""

    def __init__(self, driver: str, session: str) -> None:
        self.driver, self.session = driver, session

    def open(self, url: str) -> None:
        self._call("POST", f"/session/{self.session}/url", {"url": url})

    def run_async(self, script: str, *args: Any) -> Any:
        """Run ``script`` in the page; it answers by calling ``arguments[arguments.length - 1]``."""
        return self._call("POST", f"/session/{self.session}/execute/async", {"script": script, "args": list(args)})

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return _request(self.driver + path, method, body, timeout=START_TIMEOUT + SCRIPT_TIMEOUT)


def _request(url: str, method: str, body: dict[str, Any] | None, timeout: float) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())["value"]
    except urllib.error.HTTPError as exc:
        value = json.loads(exc.read() or b"{}").get("value", {})
        raise AssertionError(f"chromedriver {method} {url}: {value.get('error')}: {value.get('message')}") from None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(driver: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"chromedriver exited at start with status {process.returncode}")
        with contextlib.suppress(OSError):
            if _request(driver + "/status", "GET", None, timeout=2).get("ready"):
                return
        time.sleep(0.1)
    pytest.fail(f"chromedriver did not answer within {START_TIMEOUT:.0f} s")


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Browser]:
    """A headless Chromium session (its profile in ``profile``), closed afterwards."""
    binary, driver_binary = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver_binary is None:
        pytest.fail(f"this test runs the system Chromium and its chromedriver; install them: {INSTALL}")
    port = _free_port()
    driver = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([driver_binary, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(driver, process)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        args += [f"--user-data-dir={profile}", "--no-first-run"]
        capabilities = {"alwaysMatch": {"goog:chromeOptions": {"binary": binary, "args": args}}}
        opened = _request(driver + "/session", "POST", {"capabilities": capabilities}, timeout=START_TIMEOUT * 2)
        browser = Browser(driver, opened["sessionId"])
        browser._call("POST", f"/session/{browser.session}/timeouts", {"script": int(SCRIPT_TIMEOUT * 1000)})
        try:
            yield browser
        finally:
            with contextlib.suppress(OSError, AssertionError):
                browser._call("DELETE", f"/session/{browser.session}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
