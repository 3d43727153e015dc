"""Subtitle cues from word timestamps: splitting, wrapping, timing and the standards."""

from __future__ import annotations

import itertools
import random

import pytest

from ingest.models import Cue, Word
from ingest.settings import CueSettings
from ingest.subtitles.cues import build_cues, wrap
from ingest.subtitles.standards import violations

S = CueSettings()


def speak(script: str, rate: float = 15.0, start: float = 0.0) -> list[Word]:
    """Words laid out at ``rate`` characters a second, the space after a word included.

    ``[1.5]`` in the script is that many seconds of extra silence; ``{Ann}`` makes Ann
    the speaker of the words that follow.
    """
    words: list[Word] = []
    t, speaker = start, None
    for token in script.split():
        if token.startswith("["):
            t += float(token.strip("[]"))
        elif token.startswith("{"):
            speaker = token.strip("{}")
        else:
            words.append(Word(t, t + len(token) / rate, " " + token, 0.9, speaker))
            t += (len(token) + 1) / rate
    return words


def lasts(cue: Cue) -> float:
    """Duration, to the millisecond the cues are timed in (floats would say 0.8299999)."""
    return round(cue.end - cue.start, 6)


def spoken(words: list[Word]) -> list[str]:
    return [w.text.strip() for w in words]


def shown(cues: tuple[Cue, ...]) -> list[str]:
    return " ".join(c.text for c in cues).split()


def assert_well_formed(words: list[Word], cues: tuple[Cue, ...]) -> None:
    assert shown(cues) == spoken(words)
    assert all(c.text.strip() for c in cues)
    assert all(c.start >= 0 and c.end > c.start for c in cues)
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    assert all(len(c.lines) <= S.max_lines for c in cues)
    assert all(len(line) <= S.max_line_chars for c in cues for line in c.lines)


def test_sentence_punctuation_splits_cues():
    words = speak("It rained all morning in the old town. The market opened late that day.")
    cues = build_cues(words, S)
    assert [c.text for c in cues] == [
        "It rained all morning in the old town.",
        "The market opened late that day.",
    ]
    assert violations(cues, S) == []


def test_pause_splits_cues_and_no_cue_spans_it():
    words = speak("we walked down to the river [1.0] and then we sat on the bench")
    cues = build_cues(words, S)
    assert [c.text for c in cues] == ["we walked down to the river", "and then we sat on the bench"]
    assert cues[0].end <= words[6].start - 0.1
    assert violations(cues, S) == []


def test_speaker_change_always_starts_a_new_cue():
    words = speak("{Ann} Are you coming with us {Bob} I think so")
    cues = build_cues(words, S)
    assert [(c.speaker, c.text) for c in cues] == [("Ann", "Are you coming with us"), ("Bob", "I think so")]
    assert violations(cues, S) == []


def test_long_monologue_without_punctuation_stays_within_limits():
    rng = random.Random(7)
    vocabulary = ["we", "went", "to", "the", "old", "market", "and", "then", "looked", "around"]
    words = speak(" ".join(rng.choice(vocabulary) for _ in range(200)))
    cues = build_cues(words, S)
    assert_well_formed(words, cues)
    assert all(lasts(c) <= S.max_duration for c in cues)
    assert len(cues) >= 12
    assert violations(cues, S) == []


def test_monologue_at_a_slow_rate_is_split_by_duration():
    words = speak(" ".join(["and", "so", "on"] * 40), rate=8.0)
    cues = build_cues(words, S)
    assert_well_formed(words, cues)
    assert violations(cues, S) == []


def test_a_single_short_word_between_pauses_lasts_long_enough():
    words = speak("We should go now. [1.5] Yes. [1.5] Then let us go.")
    cues = build_cues(words, S)
    yes = next(c for c in cues if c.text == "Yes.")
    assert lasts(yes) >= S.min_duration
    assert violations(cues, S) == []


def test_a_short_sentence_in_the_flow_joins_its_neighbour():
    cues = build_cues(speak("Hi. How are you today?"), S)
    assert [c.text for c in cues] == ["Hi. How are you today?"]


def test_a_short_turn_with_no_silence_borrows_time():
    words = speak("{Ann} Did you see the whole game last night? {Bob} Yes. {Ann} It was great.")
    cues = build_cues(words, S)
    assert [c.speaker for c in cues] == ["Ann", "Bob", "Ann"]
    assert lasts(cues[1]) >= S.min_duration
    assert violations(cues, S) == []


def test_short_utterances_close_together_merge():
    words = speak("Oh. [0.65] No. [0.65] Wait. [0.65] Stop.", rate=18.0, start=5.0)
    cues = build_cues(words, S, total_duration=words[-1].end + 0.2)
    assert_well_formed(words, cues)
    assert violations(cues, S, words[-1].end + 0.2) == []


def test_dense_fast_speech_keeps_every_word():
    words = speak(" ".join(["extraordinary", "circumstances", "demand", "it"] * 20), rate=40.0)
    cues = build_cues(words, S)
    assert_well_formed(words, cues)
    assert any("characters/s" in v for v in violations(cues, S))


def test_text_round_trips_in_order():
    script = (
        "Well, [0.3] I suppose we could try again tomorrow; the weather should clear. "
        "[2.0] {B} Maybe. But the road, as you know, is closed until Friday! [0.8] Right?"
    )
    words = speak(script)
    cues = build_cues(words, S)
    assert_well_formed(words, cues)
    assert violations(cues, S) == []


def test_cues_stay_within_the_media():
    words = speak("Go. [2.0] Okay then, let us begin. [2.0] Bye.")
    total = words[-1].end
    cues = build_cues(words, S, total_duration=total)
    assert cues[0].start >= 0
    assert cues[-1].end <= total
    assert violations(cues, S, total) == []


def test_words_past_the_end_of_the_media_are_clamped():
    words = [Word(0.0, 0.5, " Hello"), Word(0.6, 1.4, " world.")]
    cues = build_cues(words, S, total_duration=1.0)
    assert cues[-1].end <= 1.0
    assert shown(cues) == ["Hello", "world."]


def test_a_word_longer_than_a_line_is_hard_split():
    url = "https://example.com/" + "a" * 60
    words = speak(f"Visit {url} today.")
    cues = build_cues(words, S)
    assert all(len(line) <= S.max_line_chars for c in cues for line in c.lines)
    assert url in "".join("".join(c.lines) for c in cues)


def test_a_word_lasting_too_long_is_cut_to_the_maximum_duration():
    cues = build_cues([Word(1.0, 13.0, " Hmmmm.")], S)
    assert cues[0].end - cues[0].start == pytest.approx(S.max_duration)


def test_overlapping_and_blank_words_are_untangled():
    words = [Word(0.0, 0.6, " one"), Word(0.4, 0.9, " "), Word(0.5, 1.0, " two"), Word(0.2, 0.3, " three.")]
    cues = build_cues(words, S)
    assert shown(cues) == ["one", "two", "three."]
    assert violations(cues, S) == []


def test_no_words_no_cues():
    assert build_cues([], S) == ()


def test_wrap_keeps_text_that_fits_on_one_line():
    assert wrap("  Hello   there. ", 42, 2) == ("Hello there.",)


def test_wrap_balances_two_lines():
    lines = wrap("the quick brown fox jumps over the lazy dog and runs far away", 42, 2)
    assert lines is not None and len(lines) == 2
    assert abs(len(lines[0]) - len(lines[1])) <= 6


def test_wrap_prefers_a_break_after_punctuation():
    assert wrap("I told you yesterday, but you never listened to me", 42, 2) == (
        "I told you yesterday,",
        "but you never listened to me",
    )


def test_abbreviations_and_initials_are_not_sentence_ends():
    assert wrap("I think that we met Mr. Smith at the station by the bridge", 42, 2) == (
        "I think that we met Mr. Smith",
        "at the station by the bridge",
    )
    assert wrap("Yesterday we talked to J. Smith about the new library plans", 42, 2) == (
        "Yesterday we talked to J. Smith",
        "about the new library plans",
    )


def test_wrap_never_exceeds_the_limits():
    assert wrap("word " * 30, 42, 2) is None
    lines = wrap("word " * 20, 42, 3)
    assert lines is not None and len(lines) == 3
    assert all(len(line) <= 42 for line in lines)


def test_wrap_hard_splits_a_long_word_only_as_a_last_resort():
    assert wrap("a" * 50, 42, 2) == ("a" * 42, "a" * 8)
    assert wrap("a" * 90, 42, 2) is None
    assert wrap("", 42, 2) == ()


def test_violations_name_each_broken_standard():
    cues = [
        Cue(0.0, 0.5, ("Hi.",)),
        Cue(0.4, 9.0, ("x" * 43, "y", "z")),
        Cue(9.0, 10.0, ("This line is read far too quickly by anyone",)),
        Cue(10.0, 11.0, ("",)),
    ]
    found = "\n".join(violations(cues, S, total_duration=10.5))
    for expected in (
        "at least 0.83",
        "overlaps",
        "at most 7.0",
        "3 lines",
        "43 characters",
        "characters/s",
        "is empty",
        "ends after the media",
    ):
        assert expected in found


def script_for(
    rng: random.Random, rate: float, turn: tuple[float, float], pause: tuple[float, float]
) -> tuple[list[Word], float]:
    """Random sentences at ``rate`` characters a second (each word within 10 %), with
    silences after commas up to 0.4 s, ``pause`` after a sentence and ``turn`` before
    the other speaker takes over."""
    vocabulary = str.split(
        "the a we it to and of you that is in was for on are with they be at one have "
        "this from or had by not word but what some can out other were all there when "
        "up your how said each she which do their time will way about many then them "
        "would like so these her long make thing see him two has look more day could go "
        "come did number sound people over know water than call first who may down "
        "international responsibility extraordinary understand"
    )
    t, speaker, words = rng.uniform(0.0, 2.0), "A", []
    for _ in range(rng.randint(1, 25)):
        count = rng.randint(1, 14)
        for n in range(count):
            end = rng.choice(".?!") if n == count - 1 else "," * (rng.random() < 0.08)
            text = rng.choice(vocabulary) + end
            length = len(text) / rate * rng.uniform(0.9, 1.1)
            words.append(Word(t, t + length, " " + text, 0.9, speaker))
            t += length + 1 / rate + (rng.uniform(0.0, 0.4) if text.endswith(",") else 0.0)
        if rng.random() < 0.25:
            speaker = "B" if speaker == "A" else "A"
            t += rng.uniform(*turn)
        else:
            t += rng.uniform(*pause)
    # No file shorter than the shortest cue: it could not hold one.
    return words, max(S.min_duration, words[-1].end + rng.uniform(0.0, 1.0))


@pytest.mark.parametrize("seed", range(100))
def test_random_ordinary_speech_meets_every_standard(seed):
    """Up to 17 characters a second, sentence pauses of 0.25-1.5 s, turns after 0.6-1.5 s."""
    rng = random.Random(seed)
    words, total = script_for(rng, rng.uniform(10.0, 17.0), (0.6, 1.5), (0.25, 1.5))
    cues = build_cues(words, S, total_duration=total)
    assert_well_formed(words, cues)
    assert violations(cues, S, total) == []


@pytest.mark.parametrize("seed", range(30))
def test_random_fast_speech_breaks_only_the_timing_standards(seed):
    """Too fast to read, with hardly a pause: every word is still shown, in order, and only
    reading speed and minimum duration may give way."""
    rng = random.Random(seed)
    words, total = script_for(rng, rng.uniform(17.0, 45.0), (0.0, 0.3), (0.0, 0.3))
    cues = build_cues(words, S, total_duration=total)
    assert_well_formed(words, cues)
    assert cues[-1].end <= total
    assert all("characters/s" in v or "at least" in v for v in violations(cues, S, total))
