"""What an operator's Prometheus scrapes: the ledger's jobs, finished jobs' timings, requests.

One ``Metrics`` per app, on a registry of its own (never the process-wide default: a
process may hold several apps, the tests start many). What the ledger holds (jobs by
state, the queue's depth) is read when scraped, by a collector; the route renders the
registry in a thread, so a slow ledger read never blocks the event loop.

Finished jobs are heard through the plugin hook every job already ends with
(``ingest_job_finished``, called once the ledger holds the outcome): the daemon's own jobs
count too, and a daemon without a server is untouched. Durations and the real-time factor
are the job's stage timings, the same figures as its ``job_done`` log line.

Requests are counted by method, route template (``/jobs/{job_id}``, never the raw path: no
key prefix, no unbounded labels) and status, by an ASGI middleware outside the access
rules, so refusals count too (route ``none``: refused or unrouted before routing).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, Info, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.ledger.sqlite import STATES, Ledger
from ingest.models import JobResult
from ingest.plugins import Host, hookimpl

log = structlog.get_logger(__name__)

# Seconds a job took, from a clip on the GPU to a film on a CPU.
DURATION_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
# Processing seconds per media second: below 1 is faster than real time.
RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)
NO_ROUTE = "none"


class LedgerCollector(Collector):
    """Jobs by state and the queue's depth, read from the ledger at each scrape."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def describe(self) -> Iterable[Metric]:
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        return self._families(self.ledger.counts())

    @staticmethod
    def _families(counts: dict[str, int] | None) -> list[Metric]:
        jobs = GaugeMetricFamily("ingest_jobs", "Jobs in the ledger, by state.", labels=["state"])
        depth = GaugeMetricFamily("ingest_queue_depth", "Jobs waiting for a worker (state pending).")
        if counts is not None:
            for state in STATES:
                jobs.add_metric([state], counts.get(state, 0))
            depth.add_metric([], counts.get("pending", 0))
        return [jobs, depth]


class Metrics:
    """The registry of one app and the metrics in it."""

    def __init__(self, ledger: Ledger, version: str, engine: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ingest_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.job_seconds = Histogram(
            "ingest_job_duration_seconds",
            "Processing time of finished jobs (decoding to writing), in seconds.",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.rtf = Histogram(
            "ingest_job_realtime_factor",
            "Processing seconds per second of media, of finished jobs.",
            buckets=RTF_BUCKETS,
            registry=self.registry,
        )
        Info("ingest_build", "The ingest version serving, and its engine.", registry=self.registry).info(
            {"version": version, "engine": engine}
        )
        self.registry.register(LedgerCollector(ledger))

    def render(self) -> bytes:
        """The text exposition format; reads the ledger (blocking: run it in a thread)."""
        return generate_latest(self.registry)

    def request(self, method: str, route: str, status: int) -> None:
        self.requests.labels(method, route, str(status)).inc()

    def job_finished(self, result: JobResult) -> None:
        """Time a job that wrote its outputs; skipped and failed ones are in ``ingest_jobs``."""
        if result.status != "done":
            return
        seconds = sum(result.timings.values())
        self.job_seconds.observe(seconds)
        if result.duration > 0:
            self.rtf.observe(seconds / result.duration)

    @contextlib.contextmanager
    def listening(self, host: Host) -> Iterator[None]:
        """Hear every job that ends while the block runs (a plugin of the daemon's host)."""
        listener = _Listener(self)
        host.pm.register(listener, name=f"ingest-server-metrics-{id(listener)}")
        try:
            yield
        finally:
            host.pm.unregister(listener)


class _Listener:
    """The hook implementation; pluggy needs an object with ``@hookimpl`` methods."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    @hookimpl
    def ingest_job_finished(self, result: JobResult) -> None:
        self.metrics.job_finished(result)


class RequestCounter:
    """Counts each HTTP request once answered, into the app's ``Metrics`` (``app.state.metrics``,
    set when the app starts); passes everything through untouched before that."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics = getattr(scope["app"].state, "metrics", None) if scope["type"] == "http" else None
        if metrics is None:
            await self.app(scope, receive, send)
            return
        status = [500]  # what the client sees when the app raises before answering

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            metrics.request(scope["method"], _route(scope), status[0])


def _route(scope: Scope) -> str:
    route: Any = scope.get("route")  # set in this very scope by the router once a route matched
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else NO_ROUTE
