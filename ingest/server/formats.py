"""Response bodies from a finished request's job: the files the writer plugins made.

SRT and WebVTT are the very files ingest's writers wrote for the job (its cue builder,
its subtitle standards, its hallucination filters), read back; every other shape is built
from the job's JSON document (``plugins/json_writer``), which holds the segments and
words: whisper-asr-webservice's txt, tsv and json, and OpenAI's json, verbose_json and
diarized_json. A job that found no speech is an empty transcript, never invented text.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.server.queue import Outcome

Document = dict[str, Any]
EMPTY_VTT = "WEBVTT\n"
TOKENIZER = "tokenizer.py"  # in openai-whisper's package: its LANGUAGES table


def document(outcome: Outcome) -> Document:
    """The job's JSON document; an empty transcript when it wrote none (no speech found)."""
    path = outcome.output(".json")
    if path is None or outcome.entry.state != "done":
        return {"language": None, "detected_language": None, "duration": 0.0, "text": "", "segments": []}
    loaded: Document = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def subtitle(outcome: Outcome, fmt: str) -> str:
    """The SRT or WebVTT file the writer made for the job (empty, or a bare header, for no speech)."""
    path = outcome.output(f".{fmt}")
    if path is None or outcome.entry.state != "done":
        return EMPTY_VTT if fmt == "vtt" else ""
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _whisper_names() -> dict[str, str]:
    """Whisper's own table, code → lowercase English name, read from openai-whisper's
    ``tokenizer.py`` alone: importing ``whisper`` would load torch (about 500 MB and 2 s)
    into a server that may run faster-whisper and never need it."""
    found = importlib.util.find_spec("whisper")  # finds the package without running it
    folder = Path(next(iter(found.submodule_search_locations or ()))) if found else None
    spec = None if folder is None else importlib.util.spec_from_file_location("_whisper_tokenizer", folder / TOKENIZER)
    if spec is None or spec.loader is None:
        return {}  # openai-whisper missing: codes are answered as they are
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.LANGUAGES)


def language_name(code: str | None) -> str | None:
    """Whisper's lowercase English name of a language code (``en`` → ``english``)."""
    if code is None:
        return None
    return _whisper_names().get(code, code)


def lines(doc: Document) -> str:
    """whisper-asr-webservice's txt: one line per segment."""
    return "".join(f"{seg['text'].strip()}\n" for seg in doc["segments"])


def tsv(doc: Document) -> str:
    """whisper-asr-webservice's tsv: a header, then start and end in whole milliseconds."""
    rows = ["start\tend\ttext"]
    for seg in doc["segments"]:
        text = seg["text"].strip().replace("\t", " ")
        rows.append(f"{round(seg['start'] * 1000)}\t{round(seg['end'] * 1000)}\t{text}")
    return "\n".join(rows) + "\n"


def _segment(n: int, seg: Document) -> Document:
    """A segment as Whisper's own result holds one; ingest keeps no tokens or seek offsets."""
    return {
        "id": n,
        "seek": int(seg["start"] * 100),  # Whisper counts seek in 10 ms frames
        "start": seg["start"],
        "end": seg["end"],
        "text": " " + seg["text"].strip(),
        "tokens": [],
        "temperature": 0.0,
        "avg_logprob": seg.get("avg_logprob", 0.0),
        "compression_ratio": seg.get("compression_ratio", 1.0),
        "no_speech_prob": seg.get("no_speech_prob", 0.0),
    }


def _words(seg: Document) -> list[Document]:
    return [
        {"start": w["start"], "end": w["end"], "word": " " + w["word"], "probability": w["probability"]}
        for w in seg.get("words", [])
    ]


def asr_json(doc: Document, word_timestamps: bool) -> str:
    """whisper-asr-webservice's json: Whisper's result, words per segment or null."""
    segments = [
        _segment(n, seg) | {"words": _words(seg) if word_timestamps else None} for n, seg in enumerate(doc["segments"])
    ]
    body = {"language": doc["detected_language"] or doc["language"], "segments": segments, "text": doc["text"]}
    return json.dumps(body, ensure_ascii=False)


def verbose(doc: Document, task: str, words: bool, segments: bool) -> Document:
    """OpenAI's verbose_json: the language by name, the words at the top level when asked."""
    body: Document = {
        "task": task,
        "language": language_name(doc["language"]),
        "duration": doc["duration"],
        "text": doc["text"],
    }
    if segments:
        body["segments"] = [_segment(n, seg) for n, seg in enumerate(doc["segments"])]
    if words:
        body["words"] = [
            {"word": w["word"], "start": w["start"], "end": w["end"]} for s in doc["segments"] for w in s["words"]
        ]
    return body


def diarized(doc: Document, task: str) -> Document:
    """OpenAI's diarized_json: segments with who said them."""
    segments = [
        {
            "type": "transcript.text.segment",
            "id": f"seg_{n}",
            "start": seg["start"],
            "end": seg["end"],
            "text": seg["text"].strip(),
            "speaker": seg.get("speaker") or "A",
        }
        for n, seg in enumerate(doc["segments"])
    ]
    return {"task": task, "duration": doc["duration"], "text": doc["text"], "segments": segments}


def transcription(doc: Document, word_timestamps: bool) -> Document:
    """``POST /transcribe``'s body: the language spoken, segments with who said them (null
    when not diarized) and, when asked, their words; every speaker once, sorted."""
    segments: list[Document] = []
    for n, seg in enumerate(doc["segments"]):
        item = {"id": n, "start": seg["start"], "end": seg["end"], "text": seg["text"].strip()}
        item["speaker"] = seg.get("speaker")
        if word_timestamps:
            keys = ("word", "start", "end", "probability")
            item["words"] = [{key: w[key] for key in keys} for w in seg.get("words", [])]
        segments.append(item)
    return {
        "text": doc["text"],
        "language": doc.get("detected_language") or doc["language"],
        "duration": doc["duration"],
        "segments": segments,
        "speakers": sorted({s["speaker"] for s in segments if s["speaker"]}),
    }
