"""The hallucination filters on built transcripts: what each one drops, and the exact counts."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from ingest.models import Regions, Segment, Transcript, Word
from ingest.settings import FilterSettings
from ingest.transcript import hallucination as h


def seg(start: float, text: str, step: float = 0.4, **kw) -> Segment:
    """A segment whose words follow each other every ``step`` seconds from ``start``."""
    words = tuple(Word(start + n * step, start + (n + 1) * step, f" {w}") for n, w in enumerate(text.split()))
    return Segment(start, words[-1].end, " " + text, words, **kw)


def transcript(*segments: Segment, speech: Regions | None = None) -> Transcript:
    return Transcript("en", 0.9, 60.0, segments, "e", "m", speech=speech)


SPEECH = ((0.0, 10.0), (20.0, 30.0))


def test_every_filter_counts_the_words_it_removes():
    t = transcript(
        seg(1.0, "Good evening and welcome."),  # kept
        seg(12.0, "Invented over silence"),  # outside speech: 3 words
        seg(3.0, "Mumble mumble", avg_logprob=-1.5, no_speech_prob=0.8),  # no_speech: 2
        seg(5.0, "evening and welcome", no_speech_prob=0.9),  # echo of the first: 3
        seg(21.0, "I am here I am here I am here I am here I am here and now."),  # 4 repeats of 3 words: 12
        seg(27.0, "Thanks for watching!", no_speech_prob=0.7),  # known phrase over little speech: 3
        speech=SPEECH,
    )
    kept = h.apply(t, FilterSettings())
    assert kept.filtered == {
        "outside_speech": 3,
        "no_speech": 2,
        "echo": 3,
        "repetition": 12,
        "compression": 0,
        "known_phrase": 3,
        "unsure": 0,
        "vocables": 0,
    }
    assert [s.text.strip() for s in kept.segments] == ["Good evening and welcome.", "I am here and now."]
    assert len(t.words) - len(kept.words) == sum(kept.filtered.values())


def test_turned_off_filters_keep_everything_and_count_nothing():
    off = FilterSettings(
        outside_speech=False,
        no_speech=False,
        echo=False,
        repetition=False,
        compression=False,
        known_phrases=False,
        unsure=False,
        vocables=False,
    )
    invented, thanks = seg(12.0, "Invented over silence"), seg(27.0, "Thanks for watching!", no_speech_prob=0.9)
    t = transcript(invented, thanks, speech=SPEECH)
    kept = h.apply(t, off)
    assert kept.segments == t.segments
    assert kept.filtered == dict.fromkeys(h.REASONS, 0)


def test_no_speech_needs_both_signals():
    """Whisper's rule: likely silence AND an unsure decode. Either alone is real speech."""
    t = transcript(
        seg(1.0, "quiet but sure", no_speech_prob=0.9, avg_logprob=-0.3),
        seg(3.0, "loud but unsure", no_speech_prob=0.1, avg_logprob=-1.8),
        seg(5.0, "both bad", no_speech_prob=0.61, avg_logprob=-1.01),
    )
    kept = h.apply(t, FilterSettings())
    assert kept.filtered["no_speech"] == 2
    assert [s.text.strip() for s in kept.segments] == ["quiet but sure", "loud but unsure"]


def test_no_speech_with_words_the_engine_barely_believes_is_dropped():
    """Over crowd murmur Whisper echoes the last sentence: fair log-probability, words near 0."""
    echo = seg(60.0, "ask not what your country", no_speech_prob=0.87, avg_logprob=-0.41)
    echo = replace(echo, words=tuple(replace(w, probability=0.02) for w in echo.words))
    sure = seg(70.0, "ask not what your country", no_speech_prob=0.87, avg_logprob=-0.41)
    kept = h.apply(transcript(echo, sure), FilterSettings())
    assert kept.filtered["no_speech"] == 5
    assert [s.start for s in kept.segments] == [70.0]


def test_repetition_loop_across_segments_collapses_to_one():
    loop = [seg(21.0 + n, "Ask what you can do.") for n in range(6)]
    kept = h.apply(transcript(seg(20.0, "Now"), *loop, speech=SPEECH), FilterSettings())
    assert kept.filtered["repetition"] == 5 * 5
    assert [s.text.strip() for s in kept.segments] == ["Now", "Ask what you can do."]


def test_repetition_keeps_what_people_say_a_few_times():
    words = "no no no wait. very very good."
    kept = h.apply(transcript(seg(1.0, words), speech=SPEECH), FilterSettings())
    assert kept.filtered["repetition"] == 0 and kept.segments[0].text == " " + words
    strict = h.apply(transcript(seg(1.0, words), speech=SPEECH), FilterSettings(max_repeats=2))
    assert strict.filtered["repetition"] == 2 and strict.segments[0].text == " no wait. very very good."


def test_compression_drops_repetitive_text_the_ngram_check_misses():
    """Interleaved junk is no run of one phrase, but it compresses like a loop."""
    junk = " ".join(["so we", "we go", "go so"] * 8)
    t = transcript(seg(1.0, "We met at noon."), seg(3.0, junk, step=0.1), speech=SPEECH)
    kept = h.apply(t, FilterSettings(max_repeats=20))
    assert h.compression_ratio(junk) > 2.4 > h.compression_ratio("We met at noon.")
    assert kept.filtered["compression"] == len(junk.split())
    assert [s.text.strip() for s in kept.segments] == ["We met at noon."]


def test_known_phrases_stay_when_speech_is_under_them():
    t = transcript(
        seg(2.0, "Thank you.", no_speech_prob=0.1),  # said, inside speech: kept
        replace(seg(9.0, "Thank you.", no_speech_prob=0.1), end=12.0),  # stretched over silence: dropped
        seg(22.0, "♪ ♪", no_speech_prob=0.6),  # the engine doubts it: dropped
        seg(24.0, "Subtitles by the Amara.org community", no_speech_prob=0.55),
        seg(26.0, "Thank you for the coffee.", no_speech_prob=0.9),  # no known phrase: kept
        speech=SPEECH,
    )
    kept = h.apply(t, FilterSettings())
    assert kept.filtered["known_phrase"] == 2 + 2 + 5
    assert [s.start for s in kept.segments] == [2.0, 26.0]
    assert kept.filtered["outside_speech"] == 0


def test_known_phrases_said_over_and_over_or_drawn_out():
    """Over crowd murmur Whisper wrote "Thank you very much." (no-speech 0.94) and, a hair
    quieter, "Thank you, thank you, thank you." (0.97); both are stock phrases."""
    for text in ("Thank you very much.", "Thank you, thank you, thank you.", "Bye bye. Thanks for watching!"):
        assert h.KNOWN_PHRASES.fullmatch(h.normalize(text)), text
    for text in ("Thank you very much for the tea.", "You said music?", "Thank you, Anna."):
        assert not h.KNOWN_PHRASES.fullmatch(h.normalize(text)), text


@pytest.mark.parametrize("text", ["'♪ ♫ ' * 20 + 'la'", "'bye ' * 40 + 'x'"])
def test_known_phrase_match_ends_on_long_runs(text):
    """Forty spaced notes and a word: the old pattern (a space inside the note class, inside a
    repetition on spaces) backtracked for hours here and would have stalled a worker. Forty
    "bye"s and a word: "bye bye" as one phrase or two split every way (0.9 s at 30, hours at 50)."""
    code = f"from ingest.transcript import hallucination as h; print(bool(h.KNOWN_PHRASES.fullmatch({text})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "False"


def test_normalize():
    assert h.normalize(" Thanks  for WATCHING!!") == "thanks for watching"
    assert h.normalize("Don\u2019t forget to subscribe.") == "don't forget to subscribe"
    assert h.normalize("[Music] ♪") == "music ♪"


def test_echo_drops_what_was_said_again_over_no_speech():
    """Whisper repeats its previous text over crowd murmur (no-speech 0.87, a fair
    log-probability): gone. Real speech said again, or new words, stay."""
    first = seg(1.0, "And so my fellow Americans, ask not what your country can do for you,")
    t = transcript(
        first,
        seg(4.0, "ask what you can do", no_speech_prob=0.3),  # new words: kept
        seg(6.0, "Ask not what your country can do for you.", no_speech_prob=0.87, avg_logprob=-0.32),  # echo
        seg(8.0, "you ask what", no_speech_prob=0.9),  # across the border of two segments: echo
        seg(9.0, "Ask not what your country can do for you.", no_speech_prob=0.1),  # said again, for real
        seg(12.0, "Something else entirely, said softly.", no_speech_prob=0.9),  # sure of it, not an echo
        seg(14.0, "Americans", no_speech_prob=0.8),  # one word said before: echo
    )
    kept = h.apply(t, FilterSettings())
    assert kept.filtered["echo"] == 9 + 3 + 1
    assert [s.start for s in kept.segments] == [1.0, 4.0, 9.0, 12.0]
    loose = h.apply(t, FilterSettings(echo_share=1.0, no_speech_prob=0.95))
    assert loose.filtered["echo"] == 0


def test_an_echo_repeats_recent_text_only():
    """Whisper echoes its prompt (the last ~200 words); words said long before are no echo."""
    filler = " ".join(f"w{n}" for n in range(h.ECHO_WINDOW))
    t = transcript(seg(1.0, "I don't know."), seg(2.0, filler), seg(50.0, "I don't know.", no_speech_prob=0.9))
    assert h.apply(t, FilterSettings()).filtered["echo"] == 0
    t = transcript(seg(1.0, filler), seg(2.0, "I don't know."), seg(50.0, "I don't know.", no_speech_prob=0.9))
    assert h.apply(t, FilterSettings()).filtered["echo"] == 3


def believed(start: float, text: str, probabilities: list[float], **kw) -> Segment:
    """A segment whose words carry the engine's ``probabilities``, one each."""
    plain = seg(start, text, **kw)
    words = tuple(replace(w, probability=p) for w, p in zip(plain.words, probabilities, strict=True))
    return replace(plain, words=words)


def test_words_the_engine_barely_believes_go_even_when_it_calls_the_window_speech():
    # Measured over babble and foreign-sounding voices: a fair window (log-probability -0.65,
    # no-speech 0.18) whose words average 0.36; real speech at 5 dB SNR in the same kind of
    # window averaged 0.54 at worst. The no-speech rule lets both through.
    invented = believed(2.0, "The brosse broke as Malboa last zoomed", [0.5, 0.1, 0.3, 0.6, 0.2, 0.4, 0.4])
    noisy = believed(6.0, "It was fine thank you although", [0.4, 0.9, 0.3, 0.7, 0.5, 0.5], avg_logprob=-0.6)
    t = transcript(replace(invented, avg_logprob=-0.65, no_speech_prob=0.18), noisy, speech=((0.0, 10.0),))
    kept = h.apply(t, FilterSettings())
    assert [s.text.strip() for s in kept.segments] == ["It was fine thank you although"]
    assert kept.filtered["unsure"] == 7 and kept.filtered["no_speech"] == 0
    loose = h.apply(t, FilterSettings(unsure_word_probability=0.3))
    assert loose.filtered["unsure"] == 0


@pytest.mark.parametrize(
    ("text", "dropped"),
    [
        ("Ah, ah, ah, ah, ah.", True),
        ("Ooh, ooh, ooh.", True),
        ("Woo-woo-woo", True),
        ("La la la la", True),
        ("Oh, oh.", False),  # said twice: could be anyone
        ("Oh, I see.", False),
        ("Ah, ah, ah, the river.", False),
    ],
)
def test_sung_vowels_go_and_interjections_in_speech_stay(text, dropped):
    t = transcript(seg(1.0, text), speech=((0.0, 10.0),))
    kept = h.apply(t, FilterSettings())
    assert (kept.filtered["vocables"] > 0) is dropped
    assert (not kept.segments) is dropped
