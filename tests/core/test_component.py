"""The component contract: a nested Config and one declared run mode the engine obeys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pytest
from tests.support.toy_plugin import sample

from rewardsmith import Component, ComponentConfig, Sample, Score, Scorer, load_pack
from rewardsmith.core.component import RUN_MODES, check_run_mode
from rewardsmith.core.errors import PackError
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.plugins import make_plugin_host


class AsyncWithoutCoroutine(Component):
    run = "async"

    class Config(ComponentConfig):
        type: Literal["async-without-coroutine"] = "async-without-coroutine"

    def score(self, sample: Sample) -> Score:
        return Score(1.0)


class CoroutineDeclaredInline(Component):
    class Config(ComponentConfig):
        type: Literal["coroutine-inline"] = "coroutine-inline"

    async def score(self, sample: Sample) -> Score:
        return Score(1.0)


class GroupWithoutScoreGroup(Component):
    run = "group"

    class Config(ComponentConfig):
        type: Literal["group-without-method"] = "group-without-method"


class UnknownMode(Component):
    run = "parallel"  # type: ignore[assignment]

    class Config(ComponentConfig):
        type: Literal["unknown-mode"] = "unknown-mode"


class ModeFromConfig(Component):
    """Runs per sample or per group as its config says (like the pairwise judge)."""

    class Config(ComponentConfig):
        type: Literal["mode-from-config"] = "mode-from-config"
        grouped: bool = False

    def __init__(self, config: Any, context: Any) -> None:
        super().__init__(config, context)
        self.run = "group" if config.grouped else "async"

    async def score(self, sample: Sample) -> Score:
        return Score(0.25)

    async def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        return [Score(len(samples) / 10) for _ in samples]


class _Plugin:
    @hookimpl
    def register_components(self, register: Any) -> None:
        for cls in (AsyncWithoutCoroutine, CoroutineDeclaredInline, GroupWithoutScoreGroup,
                    UnknownMode, ModeFromConfig):
            register(cls)


def _load(write_pack: Any, type_name: str, extra: str = "") -> Any:
    host = make_plugin_host(load_entry_points=False, plugins=[("modes", _Plugin())])
    path = write_pack(f'[pack]\nname = "m"\nversion = "1"\n[[components]]\nid = "c"\n'
                      f'type = "{type_name}"\n{extra}')
    return load_pack(path, host)


@pytest.mark.parametrize(("type_name", "message"), [
    ("async-without-coroutine", "run = 'async' but score is not 'async def'"),
    ("coroutine-inline", "score is 'async def'; declare run = 'async'"),
    ("group-without-method", "run = 'group' but no score_group method"),
    ("unknown-mode", "run is 'parallel'; expected one of"),
])
def test_a_run_mode_that_does_not_match_the_code_fails_the_pack_load(
    write_pack: Any, type_name: str, message: str
) -> None:
    with pytest.raises(PackError, match="components id='c'") as info:
        _load(write_pack, type_name)
    assert message in str(info.value)


def test_the_engine_dispatches_on_the_instance_run_mode(write_pack: Any) -> None:
    per_sample = _load(write_pack, "mode-from-config")
    grouped = _load(write_pack, "mode-from-config", "grouped = true")
    assert [check_run_mode(c) for c in per_sample.components] == ["async"]
    assert [check_run_mode(c) for c in grouped.components] == ["group"]
    raw = [sample(i, "r", prompt="same") for i in range(4)]
    assert Scorer(per_sample).score(raw).rewards == pytest.approx([0.25] * 4)
    assert Scorer(grouped).score(raw).rewards == pytest.approx([0.4] * 4)


def test_run_modes_are_the_documented_four() -> None:
    assert RUN_MODES == ("inline", "thread", "async", "group")
    assert Component.run == "inline"


def test_a_group_component_cannot_be_a_gate(write_pack: Any) -> None:
    scored = '[[components]]\nid = "d"\ntype = "mode-from-config"\n'
    with pytest.raises(PackError, match=r"run = 'group'\) cannot be a gate"):
        _load(write_pack, "mode-from-config",
              "grouped = true\ngate = { fail_reward = 0.0 }\n" + scored)
    assert _load(write_pack, "mode-from-config", "gate = { fail_reward = 0.0 }\n" + scored)
