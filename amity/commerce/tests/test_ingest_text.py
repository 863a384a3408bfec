"""Property tests of the ingest validators' text rules (no database)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from amity.commerce import ingest
from amity.core.normalize import clean_text


@given(raw=st.one_of(st.text(alphabet=" a中", max_size=10),  # printable: the shortcut's own cases
                     st.text(alphabet=" a\t\n\u00a0\u2028\x1fé中", max_size=10)),
       max_length=st.integers(min_value=1, max_value=12))
@example(raw="a  a", max_length=8).via("an inner double space")
@example(raw=" a", max_length=8).via("a leading space")
@example(raw="a\u00a0a", max_length=8).via("a no-break space")
@example(raw="aaa", max_length=2).via("too long")
def test_ingest_text_is_the_cleaned_text_within_its_length(raw, max_length):
    """``ingest.text``'s shortcut for text sent clean gives what the cleaning gives (trimmed, inner whitespace
    collapsed to one space), and a too-long value is an error on its field."""
    problems = ingest.Problems()
    value = ingest.text(problems, {"name": raw}, "name", max_length)
    cleaned = clean_text(raw)
    assert value == cleaned[:max_length]
    assert ("name" in problems.errors) == (len(cleaned) > max_length)
