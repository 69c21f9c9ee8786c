"""Property test (issue 10): the sample parser answers any JSON value with a Sample or a
SampleError, never a foreign exception."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardsmith.core.errors import SampleError
from rewardsmith.core.sample import Sample, parse_sample

PROPERTY = settings(max_examples=800, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=10,
)
roles = st.sampled_from(["user", "assistant", "system", "tool", "Assistant", "", 5, None])
messages = st.lists(st.fixed_dictionaries(
    {"role": roles},
    optional={"content": json_values, "tool_calls": json_values},
), max_size=4)
# Mostly sample-shaped, so the parser gets past its first checks, with every field wild.
samples = st.fixed_dictionaries({}, optional={
    "id": json_values, "messages": messages | json_values, "metadata": json_values,
    "tools": json_values, "reference_answer": json_values,
}) | json_values


@PROPERTY
@given(raw=samples, index=st.integers(min_value=0, max_value=10_000),
       limit=st.none() | st.integers(min_value=0, max_value=50),
       strip=st.booleans())
def test_any_json_is_a_sample_or_a_sample_error(raw: Any, index: int, limit: int | None,
                                                strip: bool) -> None:
    try:
        sample = parse_sample(raw, index, max_response_chars=limit,
                              strip_reasoning_wrappers=strip)
    except SampleError as exc:
        assert str(exc)
        return
    assert isinstance(sample, Sample)
    assert sample.index == index
    assert isinstance(sample.response, str)
