from __future__ import annotations

import io
import json
import logging

import structlog

from ingest import log


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_lines_when_not_a_terminal_for_ours_and_stdlib_loggers():
    stream = io.StringIO()
    log.setup("info", "auto", stream)
    structlog.get_logger("ingest.test").info("audio_extracted", seconds=1.5)
    logging.getLogger("faster_whisper").warning("Processing audio with duration %s", "00:11")
    logging.getLogger("faster_whisper").info("below the engine's floor: dropped")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["event"], e["level"], e["logger"]) for e in lines] == [
        ("audio_extracted", "info", "ingest.test"),
        ("Processing audio with duration 00:11", "warning", "faster_whisper"),
    ]
    assert lines[0]["seconds"] == 1.5 and "timestamp" in lines[0]


def test_console_on_a_terminal():
    stream = FakeTTY()
    log.setup("info", "auto", stream)
    structlog.get_logger("ingest.test").info("job_done", rtf=0.1)
    text = stream.getvalue()
    assert "job_done" in text and "rtf" in text
    assert not text.lstrip().startswith("{")


def test_level_filters(monkeypatch):
    stream = io.StringIO()
    log.setup("warning", "json", stream)
    structlog.get_logger("ingest.test").info("quiet")
    structlog.get_logger("ingest.test").warning("loud")
    assert [json.loads(x)["event"] for x in stream.getvalue().splitlines()] == ["loud"]
