"""POST a JSON summary of each finished job to configured URLs.

For home automation (Home Assistant, n8n, Node-RED) and scripts: one request per URL
per job, body as ``Notice.payload`` (event, file, status, language, duration, engine,
model, outputs, error, seconds, timings, host, finished). Sent from a ``Courier``
thread, so a slow receiver never holds a worker; 429 and 5xx answers and broken
connections are retried ``retries`` times with backoff; what still fails is logged
(``webhook_failed``) and the job keeps its result.

A receiver's URL often carries a token in its query string, and a URL may carry a
password: logs show URLs without either, and a redacting filter keeps urllib3's own
retry warnings from printing them. URLs can come from ``INGEST_PLUGINS__WEBHOOK__URLS``
(spaces or commas between them) to keep such tokens out of the config file.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

import requests
import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest import ConfigError, Job, JobResult, Notice, delivery, hookimpl, redact, split_csv

log = structlog.get_logger(__name__)

NAME = "webhook"
USER_AGENT = "ingest-webhook/1"
Event = Literal["done", "failed", "skipped"]
# urllib3 prints the request path and query when it retries.
NOISY_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")


class WebhookSettings(BaseModel):
    """``[plugins.webhook]``: where to POST, for which events, how patiently."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    urls: list[str] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=lambda: list[Event](["done", "failed"]))
    timeout: float = Field(10.0, gt=0, le=300)  # seconds, for connecting and for each read
    retries: int = Field(2, ge=0, le=10)
    backoff: float = Field(0.5, ge=0, le=60)  # urllib3 backoff factor between retries

    _split = field_validator("urls", "events", mode="before")(split_csv)  # URLs from the environment


class Sender:
    """The running plugin: a session, the URLs, a thread to send from."""

    def __init__(self, conf: WebhookSettings) -> None:
        self.conf = conf
        self.courier = delivery.Courier(NAME)
        self.session = delivery.session(conf.retries, conf.backoff, {"User-Agent": USER_AGENT})
        self.redactor = redact.Redactor(s for url in conf.urls for s in redact.url_secrets(url))

    def finished(self, item: Notice) -> None:
        """One POST per URL, for every attempt: ``final`` says whether the daemon will retry a failure."""
        if item.event in self.conf.events:
            self.courier.send(self._post_all, item.payload())

    def close(self) -> None:
        self.courier.close()
        self.session.close()
        self.redactor.detach()

    def _post_all(self, payload: dict) -> None:
        for url in self.conf.urls:
            self._post(url, payload)

    def _post(self, url: str, payload: dict) -> None:
        shown = redact.public_url(url)
        try:
            answer = self.session.post(url, json=payload, timeout=self.conf.timeout)
        except requests.RequestException as exc:
            error = self.redactor.redact(f"{type(exc).__name__}: {exc}")
            log.warning("webhook_failed", url=shown, file=payload["file"], error=error)
            return
        if answer.ok:
            log.info("webhook_sent", url=shown, file=payload["file"], status=answer.status_code)
        else:
            log.warning("webhook_failed", url=shown, file=payload["file"], status=answer.status_code)


def check_urls(urls: list[str]) -> None:
    """Every URL is http(s) with a host; the error names it without its secrets."""
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"plugins.webhook.urls: {redact.public_url(url)!r} is not an http:// or https:// URL with a host"
            )


_sender: Sender | None = None


@hookimpl
def ingest_plugin_settings() -> tuple[str, type[BaseModel]]:
    return NAME, WebhookSettings


@hookimpl
def ingest_startup(plugin_config: dict[str, BaseModel]) -> None:
    """Check the URLs and start the sending thread (nothing at all without URLs)."""
    global _sender
    ingest_shutdown()
    conf = plugin_config.get(NAME) or WebhookSettings()
    if not isinstance(conf, WebhookSettings) or not conf.urls:
        return
    check_urls(conf.urls)
    _sender = Sender(conf)
    _sender.redactor.attach(*NOISY_LOGGERS)
    _sender.courier.start()
    log.info("webhook_ready", urls=[redact.public_url(u) for u in conf.urls], events=conf.events)


@hookimpl
def ingest_job_finished(job: Job, result: JobResult) -> None:
    if _sender is not None:
        _sender.finished(Notice.of(job, result))


@hookimpl
def ingest_shutdown() -> None:
    """Wait (bounded) for what is queued, then close the session."""
    global _sender
    if _sender is not None:
        running, _sender = _sender, None
        running.close()
