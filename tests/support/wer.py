"""Word error rate against a reference, ignoring case and punctuation (jiwer)."""

from __future__ import annotations

import re

import jiwer

JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def normalize(text: str) -> str:
    return re.sub(r"[^\w\s']", " ", text.lower()).strip()


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalize(reference), normalize(hypothesis) or "<empty>")
