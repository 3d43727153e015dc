"""Speaker turns laid over hand-made words and segments."""

from __future__ import annotations

from ingest.models import Cue, Segment, SpeakerTurn, Transcript, Word
from ingest.transcript import speakers


def transcript(*segments: Segment) -> Transcript:
    return Transcript("en", 0.9, 10.0, segments, "e", "m", cues=(Cue(0, 1, ("x",)),), timings={"probe": 1.0})


def segment(*words: Word, **kw) -> Segment:
    return Segment(words[0].start, words[-1].end, "".join(w.text for w in words), words, **kw)


def who(t: Transcript) -> list[str | None]:
    return [w.speaker for w in t.words]


def test_each_word_takes_the_speaker_overlapping_it_most():
    words = (Word(0.0, 1.0, " one"), Word(1.0, 2.0, " two"), Word(2.0, 3.0, " three"))
    turns = [SpeakerTurn(0.0, 1.3, "A"), SpeakerTurn(1.3, 2.2, "B"), SpeakerTurn(2.2, 3.0, "C")]
    assert who(speakers.assign(transcript(segment(*words)), turns)) == ["Speaker 1", "Speaker 2", "Speaker 3"]


def test_overlaps_add_up_per_speaker():
    # A covers 0.6 s of the word in two turns, B 0.4 s in one.
    turns = [SpeakerTurn(0.0, 0.3, "A"), SpeakerTurn(0.3, 0.7, "B"), SpeakerTurn(0.7, 1.0, "A")]
    out = speakers.assign(transcript(segment(Word(0.0, 1.0, " word"))), turns, ["Ann", "Ben"])
    assert who(out) == ["Ann"]


def test_words_between_turns_take_the_nearest():
    words = (Word(0.0, 0.5, " a"), Word(4.6, 4.8, " b"), Word(6.2, 6.4, " c"), Word(20.0, 20.5, " d"))
    turns = [SpeakerTurn(1.0, 4.0, "X"), SpeakerTurn(5.0, 8.0, "Y")]
    # b is 0.7 s after X ends and 0.3 s before Y starts; d is long after everything.
    assert who(speakers.assign(transcript(segment(*words)), turns)) == [
        "Speaker 1",
        "Speaker 2",
        "Speaker 2",
        "Speaker 2",
    ]


def test_a_tie_goes_to_the_turn_nearest_the_word():
    # Both turns cover 0.5 s of the word; only X holds its middle (1.0 s).
    turns = [SpeakerTurn(1.5, 2.0, "Y"), SpeakerTurn(0.9, 1.4, "X")]
    out = speakers.assign(transcript(segment(Word(0.0, 2.0, " long"))), turns, ["Xena", "Yuri"])
    assert who(out) == ["Xena"]


def test_words_without_duration_and_overlapping_turns():
    words = (Word(2.0, 2.0, " blip"), Word(4.0, 5.0, " both"))
    turns = [SpeakerTurn(0.0, 4.8, "A"), SpeakerTurn(4.5, 6.0, "B")]  # overlapping speech: A 0.8 s, B 0.5 s
    assert who(speakers.assign(transcript(segment(*words)), turns)) == ["Speaker 1", "Speaker 1"]


def test_segments_split_where_the_speaker_changes():
    words = (
        Word(0.0, 0.4, " Hi", 0.9),
        Word(0.5, 0.9, " there.", 0.8),
        Word(1.0, 1.3, " Hello", 0.7),
        Word(1.4, 1.8, " back.", 0.6),
        Word(1.9, 2.2, " Bye.", 0.5),
    )
    seg = segment(*words, avg_logprob=-0.3, no_speech_prob=0.1, compression_ratio=1.5)
    turns = [SpeakerTurn(0.0, 0.95, "S0"), SpeakerTurn(0.95, 1.85, "S1"), SpeakerTurn(1.85, 3.0, "S0")]
    out = speakers.assign(transcript(seg), turns)
    assert [(s.start, s.end, s.text, s.speaker) for s in out.segments] == [
        (0.0, 0.9, " Hi there.", "Speaker 1"),
        (1.0, 1.8, " Hello back.", "Speaker 2"),
        (1.9, 2.2, " Bye.", "Speaker 1"),
    ]
    assert out.segments[1].words == (
        Word(1.0, 1.3, " Hello", 0.7, "Speaker 2"),
        Word(1.4, 1.8, " back.", 0.6, "Speaker 2"),
    )
    assert {(s.avg_logprob, s.no_speech_prob, s.compression_ratio) for s in out.segments} == {(-0.3, 0.1, 1.5)}
    assert out.words == tuple(w for s in out.segments for w in s.words)
    assert (out.language, out.cues, out.timings) == ("en", transcript().cues, {"probe": 1.0})


def test_a_segment_of_one_speaker_keeps_its_text_and_times():
    seg = Segment(0.0, 2.0, " As the engine wrote it.", (Word(0.1, 0.5, " As"), Word(0.6, 1.9, " written.")))
    out = speakers.assign(transcript(seg), [SpeakerTurn(0.0, 5.0, "A")])
    assert out.segments == (Segment(0.0, 2.0, " As the engine wrote it.", out.segments[0].words, speaker="Speaker 1"),)


def test_a_segment_without_words_is_placed_by_its_own_times():
    segs = (Segment(0.0, 2.0, " First.", ()), Segment(3.0, 5.0, " Second.", ()))
    turns = [SpeakerTurn(0.0, 2.5, "B"), SpeakerTurn(2.5, 6.0, "A")]
    out = speakers.assign(transcript(*segs), turns, ["Host"])
    assert [(s.text, s.speaker) for s in out.segments] == [(" First.", "Host"), (" Second.", "Speaker 2")]


def test_names_follow_the_order_of_first_words():
    words = (Word(0.0, 1.0, " a"), Word(1.0, 2.0, " b"), Word(2.0, 3.0, " c"), Word(3.0, 4.0, " d"))
    # The diarizer numbers speakers its own way; whoever speaks first gets the first name.
    turns = [
        SpeakerTurn(0.0, 1.0, "SPEAKER_03"),
        SpeakerTurn(1.0, 2.0, "SPEAKER_00"),
        SpeakerTurn(2.0, 3.0, "SPEAKER_03"),
        SpeakerTurn(3.0, 4.0, "SPEAKER_01"),
        SpeakerTurn(9.0, 9.5, "SPEAKER_02"),  # says no word: takes no name
    ]
    t = transcript(segment(*words))
    assert who(speakers.assign(t, turns, ["Alice", "Bob", "Carol"])) == ["Alice", "Bob", "Alice", "Carol"]
    assert who(speakers.assign(t, turns)) == ["Speaker 1", "Speaker 2", "Speaker 1", "Speaker 3"]
    assert who(speakers.assign(t, turns, ["Alice"])) == ["Alice", "Speaker 2", "Alice", "Speaker 3"]
    assert speakers.order(speakers.assign(t, turns, ["Alice"])) == ("Alice", "Speaker 2", "Speaker 3")
    assert who(speakers.assign(t, turns, ["", " Bob\n Jones "])) == ["Speaker 1", "Bob Jones", "Speaker 1", "Speaker 3"]


def test_no_turns_leave_the_transcript_as_it_was():
    t = transcript(segment(Word(0.0, 1.0, " a")))
    assert speakers.assign(t, [], ["Alice"]) is t
    assert speakers.order(t) == ()
