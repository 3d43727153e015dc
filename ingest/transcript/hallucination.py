"""Filters for text Whisper invents: pure functions, a transcript in, a new one out.

Every filter counts the words it removes, under one of ``REASONS``; the counts travel on
``Transcript.filtered`` into the JSON output and the job summary. Words are the unit for
every reason, so counts add up and compare across files.

The order matters and is fixed: words outside speech go first (they cannot be right),
then segments the engine itself rated as no speech, then sung vowels ("ah, ah, ah": before the
loops are collapsed, which would leave one "ah"), then echoes (probably-no-speech segments that
repeat what was already said), then repetition loops are collapsed, then the compression check
runs on what is left (its ratio is computed again from the text we would write: a loop already
collapsed should not doom the real words beside it), then known phrases over little speech,
and last segments whose words the engine barely believes (what a collapsed loop left beside
it included). ``ingest.doubt`` holds the last rule and the sung vowels: voices that say nothing.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from dataclasses import replace

from ingest.media import vad
from ingest.models import Regions, Segment, Transcript, Word
from ingest.settings import FilterSettings
from ingest.transcript import doubt

REASONS = ("outside_speech", "no_speech", "vocables", "echo", "repetition", "compression", "known_phrase", "unsure")
ECHO_GRAM = 3  # echoes are matched as word triples (shorter segments: as a whole)
# Whisper echoes its prompt, the previous text (up to 224 tokens): about this many words.
# A catchphrase said an hour ago is no echo.
ECHO_WINDOW = 200
Segments = tuple[Segment, ...]

# What Whisper writes over music, applause, murmur and silence, learnt from subtitled
# videos. Matched against a whole segment (lower case, punctuation dropped), alone or
# said several times over ("thank you thank you thank you").
_PHRASE = (
    r"(?:you|thank you(?: (?:so|very) much)?|thanks(?: a lot)?|bye|"
    r"(?:thank you|thanks) for (?:watching|listening)|"
    r"(?:please |don't forget to )?(?:like and )?subscribe(?: to (?:my|our|the) channel)?|"
    r"(?:subtitles|subtitled|captions|captioned|transcribed|translated|transcription) by .*|"
    r".*amara org.*|music|applause|laughter|"
    r"[♪♫♬🎵🎶]*)"  # no space in here: the repetition below owns the spaces (else it backtracks)
)
KNOWN_PHRASES = re.compile(rf"{_PHRASE}(?: {_PHRASE})*")


def apply(transcript: Transcript, settings: FilterSettings) -> Transcript:
    """``transcript`` with every enabled filter applied; ``filtered`` counts words by reason.
    Its ``speech`` regions (None: VAD off) gate the words and the known phrases."""
    speech = transcript.speech
    steps: list[tuple[str, bool, Callable[[Segments], Segments]]] = [
        ("outside_speech", settings.outside_speech and speech is not None, lambda s: outside_speech(s, speech or ())),
        ("no_speech", settings.no_speech, lambda s: no_speech(s, settings)),
        ("vocables", settings.vocables, lambda s: doubt.vocables(s, settings.vocables_at_least, normalize)),
        ("echo", settings.echo, lambda s: echo(s, settings.no_speech_prob, settings.echo_share)),
        ("repetition", settings.repetition, lambda s: repetition(s, settings.max_repeats, settings.max_ngram)),
        ("compression", settings.compression, lambda s: compression(s, settings.compression_ratio)),
        ("known_phrase", settings.known_phrases, lambda s: known_phrases(s, speech, settings.known_phrase_speech)),
        ("unsure", settings.unsure, lambda s: doubt.unsure(s, settings.unsure_word_probability)),
    ]
    segments, counts = transcript.segments, dict.fromkeys(REASONS, 0)
    for reason, enabled, step in steps:
        if enabled:
            kept = step(segments)
            counts[reason] = _words(segments) - _words(kept)
            segments = kept
    return replace(transcript, segments=segments, filtered=counts)


def _words(segments: Segments) -> int:
    return sum(len(s.words) for s in segments)


def outside_speech(segments: Segments, speech: Regions) -> Segments:
    """Keep the words whose middle lies inside a speech region."""
    return _keep_words(segments, lambda w: vad.contains(speech, (w.start + w.end) / 2))


def no_speech(segments: Segments, settings: FilterSettings) -> Segments:
    """Drop segments the engine rated as probably silence and was unsure of.

    Unsure is Whisper's own rule (a low average log-probability) or words it barely
    believes: over crowd murmur the decoder echoes the previous sentence with a fair
    log-probability (-0.4) but word probabilities near 0.01 and no-speech 0.87.
    """

    def doubtful(seg: Segment) -> bool:
        if seg.no_speech_prob <= settings.no_speech_prob:
            return False
        return seg.avg_logprob < settings.avg_logprob or doubt.mean_probability(seg) < settings.word_probability

    return tuple(s for s in segments if not doubtful(s))


def echo(segments: Segments, no_speech_prob: float, share: float) -> Segments:
    """Drop segments rated as probably no speech whose words repeat earlier text.

    Over crowd murmur (which a VAD hears as voices) Whisper conditioned on its previous
    text says that text again: JFK's sentence came back with no-speech 0.87, log-probability
    -0.32 and words at 0.55, passing every other test. Real speech repeated (a chorus, a
    catchphrase) has a low no-speech probability and stays.
    """
    history: list[str] = []  # words said so far, across segment borders
    kept = []
    for seg in segments:
        tokens = normalize(seg.text).split()
        if seg.no_speech_prob <= no_speech_prob or not _echoes(tokens, history[-ECHO_WINDOW:], share):
            kept.append(seg)
        history += tokens
    return tuple(kept)


def _echoes(tokens: list[str], before: list[str], share: float) -> bool:
    """Whether ``share`` of the word triples of ``tokens`` (all of a shorter run) occur in ``before``."""
    grams = _grams(tokens, (min(len(tokens), ECHO_GRAM),))
    said = _grams(before, range(1, ECHO_GRAM + 1))
    return bool(grams) and sum(g in said for g in grams) >= share * len(grams)


def _grams(tokens: list[str], sizes: Iterable[int]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for n in sizes if n > 0 for i in range(len(tokens) - n + 1)}


def compression(segments: Segments, ratio: float) -> Segments:
    """Drop segments whose text gzip-compresses better than ``ratio`` (repetitive junk)."""
    return tuple(s for s in segments if compression_ratio(s.text) <= ratio)


def compression_ratio(text: str) -> float:
    """Whisper's measure: bytes of the text over bytes of its zlib compression."""
    data = text.strip().encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def known_phrases(segments: Segments, speech: Regions | None, least: float) -> Segments:
    """Drop segments that are only a known phrase and have less than ``least`` speech under them.

    Speech under a segment is the share of its time inside the VAD regions (all of it
    when VAD is off) times the engine's own belief that it is speech (1 - no_speech_prob).
    """

    def doubtful(seg: Segment) -> bool:
        length = seg.end - seg.start
        covered = 1.0 if speech is None or length <= 0 else vad.overlap(speech, seg.start, seg.end) / length
        return covered * (1 - seg.no_speech_prob) < least and bool(KNOWN_PHRASES.fullmatch(normalize(seg.text)))

    return tuple(s for s in segments if not doubtful(s))


def repetition(segments: Segments, max_repeats: int, max_ngram: int) -> Segments:
    """Collapse a run of more than ``max_repeats`` equal phrases (of up to ``max_ngram``
    words, across segments) to its first occurrence."""
    words = [w for s in segments for w in s.words]
    drop = _loops([normalize(w.text) or w.text for w in words], max_repeats, max_ngram)
    dropped = {id(words[n]) for n in drop}
    return _keep_words(segments, lambda w: id(w) not in dropped)


def _loops(tokens: list[str], max_repeats: int, max_ngram: int) -> set[int]:
    """Indexes of the tokens that repeat a phrase already said more than ``max_repeats`` times in a row."""
    drop: set[int] = set()
    i = 0
    while i < len(tokens):
        for n in range(1, max_ngram + 1):
            times = _repeats(tokens, i, n)
            if times > max_repeats:
                drop.update(range(i + n, i + n * times))
                i += n * times
                break
        else:
            i += 1
    return drop


def _repeats(tokens: list[str], i: int, n: int) -> int:
    phrase = tokens[i : i + n]
    if len(phrase) < n:
        return 0
    times = 1
    while tokens[i + n * times : i + n * (times + 1)] == phrase:
        times += 1
    return times


def _keep_words(segments: Segments, keep: Callable[[Word], bool]) -> Segments:
    """Segments with only the kept words; text and times follow the words, empty ones go."""
    result: list[Segment] = []
    for seg in segments:
        kept = tuple(w for w in seg.words if keep(w))
        if len(kept) == len(seg.words):
            result.append(seg)
        elif kept:
            text = "".join(w.text for w in kept)
            result.append(replace(seg, words=kept, text=text, start=kept[0].start, end=kept[-1].end))
    return tuple(result)


def normalize(text: str) -> str:
    """Lower case, punctuation gone (music notes stay), single spaces."""
    text = unicodedata.normalize("NFKC", text.lower()).replace("\u2019", "'")
    return " ".join("".join(c if c.isalnum() or c in "♪♫♬🎵🎶'" else " " for c in text).split())
