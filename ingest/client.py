"""A small client of ingest's own HTTP API (``/jobs``), for scripts and ``ingest submit``.

    from ingest.client import Client
    with Client("http://nas:9000", api_key="...") as server:
        job = server.submit(Path("episode.mkv"), language="en")
        job = server.wait(job["id"])
        srt = server.output(job["id"], "srt")

Uploads are streamed from the file (httpx reads a multipart file part in chunks), so a
film's audio track costs the client no more memory than a small one. ``submit_path``
asks the server to transcribe a file it can see itself, inside one of its libraries:
nothing is uploaded and the outputs go beside that media, as for a watched file.

Every failure is a ``ClientError`` that names the server's answer: its status and the
``detail`` the service gave, or why the server could not be reached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:9000"
FINISHED = frozenset({"done", "skipped", "failed"})
POLL_SECONDS = 0.5
Job = dict[str, Any]


class ClientError(Exception):
    """The server refused or failed a request (``status``), or could not be reached (``status`` None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Client:
    """ingest's job API at ``url``; ``api_key`` is sent as ``Authorization: Bearer``."""

    def __init__(self, url: str = DEFAULT_URL, api_key: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        # A long upload's body takes as long as it takes; each read and connect is bounded.
        limits = httpx.Timeout(timeout, write=None)
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=limits)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def submit(self, media: Path, **options: Any) -> Job:
        """Upload ``media`` as a job (``language``, ``task``, ``diarize``...); the job as queued."""
        params = _params(options)
        with media.open("rb") as stream:
            return self._json("POST", "/jobs", params=params, files={"file": (media.name, stream)})

    def submit_path(self, media: Path, **options: Any) -> Job:
        """Ask the server to transcribe ``media`` where it lies (a path in one of its libraries)."""
        return self._json("POST", "/jobs", params=_params(options), json={"path": str(media)})

    def job(self, job_id: str) -> Job:
        return self._json("GET", f"/jobs/{job_id}")

    def jobs(self, *states: str) -> list[Job]:
        """The server's jobs, newest first; only those in ``states`` when given."""
        params = {"state": ",".join(states)} if states else None
        found: list[Job] = self._json("GET", "/jobs", params=params)["jobs"]
        return found

    def wait(self, job_id: str, timeout: float | None = None, progress: Callable[[Job], None] | None = None) -> Job:
        """The job once it has ended (done, skipped or failed); ``progress`` sees each poll."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if progress is not None:
                progress(job)
            if job["state"] in FINISHED:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise ClientError(f"job {job_id} still {job['state']} after {timeout:g} s")
            time.sleep(POLL_SECONDS)

    def output(self, job_id: str, fmt: str) -> bytes:
        """One output of a finished job (``srt``, ``vtt``, ``json``, ``txt``) as the server wrote it."""
        return self._request("GET", f"/jobs/{job_id}/outputs/{fmt}").content

    def retry(self, job_id: str) -> Job:
        return self._json("POST", f"/jobs/{job_id}/retry")

    def delete(self, job_id: str) -> None:
        self._request("DELETE", f"/jobs/{job_id}")

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(f"{self.url}{path}: {exc or type(exc).__name__}") from None
        if response.is_error:
            raise ClientError(f"{self.url}{path}: {response.status_code} {_detail(response)}", response.status_code)
        return response


def _params(options: dict[str, Any]) -> dict[str, str]:
    """Options as query parameters: None left out, booleans as the server reads them."""
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.items() if v is not None}


def _detail(response: httpx.Response) -> str:
    """The service's own words: ``{"detail"}``, OpenAI's ``{"error": {"message"}}``, or the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict):
        detail = body.get("detail") or (body.get("error") or {}).get("message")
        if detail:
            return str(detail)
    return str(body)[:200]
