"""Notifications through apprise: a file done or failed, the daemon started or stopped.

The service URLs are secrets (they hold tokens and passwords), so they come only from
``INGEST_APPRISE_URLS`` (environment or env file; spaces or commas between URLs) and
are only ever logged in apprise's privacy form (``json://user:****@host/path``).
A URL apprise cannot use stops the program at start-up, naming its position and
scheme. No URLs: the plugin does nothing at all.

Messages go out on a ``Courier`` thread, so a slow service never holds a worker; a
service that fails is logged (``notify_failed``) and the job keeps its result.

A backfill must not send hundreds of messages. ``ingest scan`` always sends digests,
one per ``digest_every`` files or ``digest_interval`` seconds; in the daemon, once more
than ``digest_after`` files finish within ``digest_interval`` seconds (its start-up
backfill of a library, a season copied in at once), the rest of the burst goes into
digests too. What is pending is sent at shutdown, before the stop message.

Each apprise service sits in an ``Apprise`` of its own with apprise's call deadline
off: one service without a deadline is sent on the calling thread, whereas a deadline
or several services make apprise use a process-wide pool of threads that are never
joined. Each request is still bounded by the service's socket timeouts (``cto``/``rto``
URL parameters, 4 s by default).
"""

from __future__ import annotations

import collections
import re
import socket
import time
import warnings
from dataclasses import dataclass
from typing import Literal

import apprise
import structlog
from apprise.utils.parse import parse_urls
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from ingest import ConfigError, Courier, Job, JobResult, Notice, Settings, digest, hookimpl, notice, redact, split_csv

log = structlog.get_logger(__name__)

NAME = "apprise"
Event = Literal["done", "failed", "skipped", "start", "stop"]
DAEMON_FIELDS = frozenset({"host", "command", "watches", "done", "failed", "skipped", "uptime"})
DIGEST_FIELDS = digest.DIGEST_FIELDS | {"command"}
FIELDS = {
    "done": notice.FILE_FIELDS,
    "failed": notice.FILE_FIELDS,
    "skipped": notice.FILE_FIELDS,
    "start": DAEMON_FIELDS,
    "stop": DAEMON_FIELDS,
    "digest": DIGEST_FIELDS,
}
DEFAULTS = {
    "done": ("Transcribed: {name}", "{name} ({duration}, {language})\n{engine} {model} in {took}\nWrote {outputs}"),
    "failed": ("Failed: {name}", "{file}\n{reason}"),
    "skipped": ("Skipped: {name}", "{file}\n{reason}"),
    "start": ("ingest started on {host}", "Watching {watches} folder(s)."),
    "stop": ("ingest stopped on {host}", "{done} done, {failed} failed, {skipped} skipped in {uptime}."),
    "digest": ("ingest: {count} files, {done} done, {failed} failed", "{files}"),
}
KINDS = {"done": "success", "failed": "failure", "skipped": "info", "start": "info", "stop": "info"}
MAX_DIGEST_LINES = 50
# Loggers that may print a service URL: apprise at debug level, urllib3 when it retries.
NOISY_LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.util.retry")


class Message(BaseModel):
    """A title and body template; what is left out keeps its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str | None = None
    body: str | None = None


def _message() -> Message:
    return Field(default_factory=Message, validate_default=True)


class AppriseSettings(BaseModel):
    """``[plugins.apprise]``: which events are told, in what words, and when to digest."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    events: list[Event] = Field(default_factory=lambda: list[Event](["done", "failed", "start", "stop"]))
    done: Message = _message()
    failed: Message = _message()
    skipped: Message = _message()
    start: Message = _message()
    stop: Message = _message()
    digest: Message = _message()
    digest_after: int = Field(5, ge=0)  # files a burst may notify one by one; 0: always digest
    digest_every: int = Field(25, ge=1)
    digest_interval: float = Field(300.0, gt=0)

    _split = field_validator("events", mode="before")(split_csv)  # "done, failed" from the environment

    @field_validator("done", "failed", "skipped", "start", "stop", "digest")
    @classmethod
    def _templates(cls, value: Message, info: ValidationInfo) -> Message:
        name = str(info.field_name)
        title, body = DEFAULTS[name]
        try:
            return Message(
                title=notice.check(value.title or title, FIELDS[name]),
                body=notice.check(value.body or body, FIELDS[name]),
            )
        except ValueError as exc:
            raise ValueError(f"{name} template: {exc}") from None


@dataclass(frozen=True)
class Target:
    """One apprise service, with the name it may be logged by."""

    label: str
    service: apprise.plugins.NotifyBase
    group: apprise.Apprise


def targets(urls: SecretStr | None) -> list[Target]:
    """One ``Target`` per URL of ``INGEST_APPRISE_URLS``; ``ConfigError`` for one apprise rejects."""
    with warnings.catch_warnings():
        # apprise imports imghdr (deprecated since Python 3.11) while it loads its
        # service plugins, on the first URL it parses: nothing of ours to fix.
        warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
        return [_target(n, url) for n, url in enumerate(parse_urls(urls.get_secret_value() if urls else ""), 1)]


def _target(number: int, url: str) -> Target:
    asset = apprise.AppriseAsset(service_timeout=0)  # no call deadline: see the module docstring
    service = apprise.Apprise.instantiate(url, asset=asset)
    if service is None:
        scheme = re.match(r"[A-Za-z][\w+.-]{0,15}://", url)
        shown = f"{scheme.group(0)}..." if scheme else "no scheme://"
        raise ConfigError(
            f"INGEST_APPRISE_URLS: URL {number} ({shown}) is not one apprise can use; "
            "see https://github.com/caronc/apprise/wiki for the URL of each service"
        )
    group = apprise.Apprise(asset=asset)
    group.add(service)
    return Target(service.url(privacy=True).partition("?")[0], service, group)


def secrets(urls: SecretStr | None, found: list[Target]) -> set[str]:
    """Parts of the raw URLs their privacy form hides: what no log line may show."""
    split = re.compile(r"[/:@?&=#,\s]+")
    shown = {word for t in found for word in split.split(t.service.url(privacy=True))}
    raw = parse_urls(urls.get_secret_value() if urls else "")
    return {word for url in raw for word in split.split(url) if word not in shown} | set(raw)


class Notifier:
    """The running plugin: what to tell, through which services, on which thread."""

    def __init__(self, conf: AppriseSettings, found: list[Target], settings: Settings, command: str) -> None:
        self.conf, self.targets, self.command = conf, found, command
        self.watches = len(settings.watches)
        self.redactor = redact.Redactor(secrets(settings.apprise_urls, found))
        self.courier = Courier(NAME)
        every, interval = conf.digest_every, conf.digest_interval
        self.burst = digest.Burst(conf.digest_after, every, interval, command == "scan", self._digest, "apprise")
        self.counts: collections.Counter[str] = collections.Counter()
        self.started = time.monotonic()

    def finished(self, item: Notice) -> None:
        """People hear of a failure once, after the last attempt; the daemon retries before that."""
        if not item.final:
            return
        self.counts[item.event] += 1
        if item.event in self.conf.events and not self.burst.add(item):
            self.send(item.event, item.fields(), KINDS[item.event])

    def daemon(self, event: str) -> None:
        """The daemon's start or stop message, when asked for."""
        if self.command == "run" and event in self.conf.events:
            fields = {
                "host": socket.gethostname(),
                "command": self.command,
                "watches": str(self.watches),
                "uptime": notice.human(time.monotonic() - self.started),
                **{k: str(self.counts[k]) for k in ("done", "failed", "skipped")},
            }
            self.send(event, fields, "info")

    def send(self, event: str, fields: dict[str, str], kind: str) -> None:
        message: Message = getattr(self.conf, event)
        title, body = notice.render(message.title or "", fields), notice.render(message.body or "", fields)
        self.courier.send(self._deliver, event, title, body, kind)

    def _digest(self, items: list[Notice]) -> None:
        fields = {**digest.digest(items, MAX_DIGEST_LINES), "command": self.command}
        self.send("digest", fields, "failure" if fields["failed"] != "0" else "success")

    def _deliver(self, event: str, title: str, body: str, kind: str) -> None:
        for target in self.targets:
            try:
                sent, error = bool(target.group.notify(body=body, title=title, notify_type=kind)), None
            except Exception as exc:  # noqa: BLE001 - a notification never fails a job or the daemon
                sent, error = False, self.redactor.redact(repr(exc))
            if sent:
                log.info("notified", url=target.label, notice=event, title=title)
            else:
                log.warning("notify_failed", url=target.label, notice=event, title=title, error=error)


_notifier: Notifier | None = None


@hookimpl
def ingest_plugin_settings() -> tuple[str, type[BaseModel]]:
    return NAME, AppriseSettings


@hookimpl
def ingest_startup(settings: Settings, plugin_config: dict[str, BaseModel], command: str) -> None:
    """Check every URL, then start the delivery thread (nothing at all without URLs)."""
    global _notifier
    ingest_shutdown()
    found = targets(settings.apprise_urls)
    if not found:
        return
    conf = plugin_config.get(NAME) or AppriseSettings()
    assert isinstance(conf, AppriseSettings)
    _notifier = Notifier(conf, found, settings, command)
    _notifier.redactor.attach(*NOISY_LOGGERS)
    _notifier.courier.start()
    log.info("apprise_ready", urls=[t.label for t in found], events=conf.events, command=command)
    _notifier.daemon("start")


@hookimpl
def ingest_job_finished(job: Job, result: JobResult) -> None:
    if _notifier is not None:
        _notifier.finished(Notice.of(job, result))


@hookimpl
def ingest_shutdown() -> None:
    """Send the pending digest and the stop message, then wait (bounded) for delivery."""
    global _notifier
    if _notifier is None:
        return
    running, _notifier = _notifier, None
    running.burst.close()
    running.daemon("stop")
    running.courier.close()
    running.redactor.detach()
