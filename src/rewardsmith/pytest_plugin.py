"""pytest fixtures for rewardsmith plugin and pack authors.

Installed as a ``pytest11`` entry point, so every pytest run in an environment where
rewardsmith is installed gets these fixtures without a ``conftest.py``:

``rewardsmith_host``
    A fresh plugin host built from the installed entry points (honours
    ``REWARDSMITH_PLUGINS``).
``rewardsmith_host_factory(plugins=(), *, load_entry_points=True, allow=None)``
    Build a host with extra in-process plugins, e.g. the package under test before it is
    pip-installed. An in-process plugin replaces an installed entry point of the same name
    or module (and is then named ``name (local)``), so the same test passes from a
    checkout and from an installed package.
``rewardsmith_scorer(pack, *, host=None)``
    A :class:`~rewardsmith.Scorer` for a registered pack name or a pack file path, closed
    at teardown. Without ``host`` it uses ``rewardsmith_host``.
``rewardsmith_sample(response, prompt=..., reference=None, *, id=None, system=None,
tools=None, **metadata)``
    A wire-format sample dict, as a trainer would send it.

Judge-service simulators (function-scoped, so scripted faults and recorded requests never
leak), so a pack with an LLM judge can be tested without an AWS account or API key:

``aws_dummy_env``       dummy AWS credentials and region, no profile/config files, IMDS off
``converse_simulator``  a running :class:`~rewardsmith.simulators.ConverseSimulator`
``openai_simulator``    a running :class:`~rewardsmith.simulators.OpenAISimulator`,
                        ``OPENAI_API_KEY`` set to a dummy
``bedrock_judge_settings``  a pack ``[judge]`` table pointing the ``bedrock`` backend at
                        ``converse_simulator`` with test-speed retry delays
``openai_judge_settings``   the same for the ``openai`` backend and ``openai_simulator``

This module is imported by every pytest run in the environment, so it imports nothing
heavy at module level: rewardsmith itself is imported inside the fixtures.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from rewardsmith.core.engine import Scorer
    from rewardsmith.core.plugins import PluginHost
    from rewardsmith.simulators.converse_sim import ConverseSimulator
    from rewardsmith.simulators.openai_sim import OpenAISimulator

DEFAULT_PROMPT = "Say something helpful."

LOCAL_SUFFIX = " (local)"


def _replace_entry_points(
    plugins: Sequence[tuple[str, object]], allow: Sequence[str] | None
) -> tuple[list[str], list[tuple[str, object]]]:
    """The entry points to load, and the in-process plugins with collision-free names.

    An in-process plugin replaces the installed entry point with its name or its module,
    so pluggy never sees one module twice when the package under test is also installed
    (editable installs are the usual case). The host blocks replaced entry points by
    name, so an in-process plugin that shares one is registered as ``name (local)``.
    """
    from importlib import metadata

    from rewardsmith.core.plugins import ENTRY_POINT_GROUP

    names = {name for name, _ in plugins}
    modules = {getattr(obj, "__name__", None) for _, obj in plugins}
    installed = {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    replaced = {n for n, ep in installed.items() if n in names or ep.value in modules}
    keep = []
    for name, ep in sorted(installed.items()):
        if name in replaced:
            continue
        dist = ep.dist.name if ep.dist is not None else None
        if allow is None or name in allow or dist in allow:
            keep.append(name)
    renamed = [(f"{name}{LOCAL_SUFFIX}" if name in replaced else name, obj)
               for name, obj in plugins]
    return keep, renamed


HostFactory = Callable[..., "PluginHost"]


@pytest.fixture
def rewardsmith_host_factory() -> HostFactory:
    """Build a plugin host: ``factory(plugins=[("name", module)], load_entry_points=True)``.

    ``allow`` restricts which installed entry points load (names or distributions), like
    ``REWARDSMITH_PLUGINS``; without it the environment variable applies.
    """
    from rewardsmith.core import settings
    from rewardsmith.core.plugins import make_plugin_host

    def factory(
        plugins: Sequence[tuple[str, object]] = (),
        *,
        load_entry_points: bool = True,
        allow: Sequence[str] | None = None,
    ) -> PluginHost:
        if not load_entry_points or not plugins:
            return make_plugin_host(load_entry_points=load_entry_points, allow=allow,
                                    plugins=list(plugins))
        allowed = settings.get_list("REWARDSMITH_PLUGINS") if allow is None else allow
        keep, renamed = _replace_entry_points(
            plugins, sorted(set(allowed)) if allowed is not None else None)
        return make_plugin_host(load_entry_points=True, allow=keep, plugins=renamed)

    return factory


@pytest.fixture
def rewardsmith_host(rewardsmith_host_factory: HostFactory) -> PluginHost:
    """A fresh plugin host from the installed entry points."""
    return rewardsmith_host_factory()


ScorerFactory = Callable[..., "Scorer"]


@pytest.fixture
def rewardsmith_scorer(request: pytest.FixtureRequest) -> Iterator[ScorerFactory]:
    """``rewardsmith_scorer(pack, host=None)``: a Scorer for a pack name or path."""
    from rewardsmith.core.engine import Scorer
    from rewardsmith.core.pack import load_pack

    made: list[Scorer] = []

    def factory(pack: str | Path, *, host: PluginHost | None = None) -> Scorer:
        if host is None:
            host = request.getfixturevalue("rewardsmith_host")
        scorer = Scorer(load_pack(pack, host))
        made.append(scorer)
        return scorer

    yield factory
    for scorer in made:
        scorer.close()


SampleFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def rewardsmith_sample() -> SampleFactory:
    """``rewardsmith_sample(response, prompt=..., reference=None, **metadata)``: a wire sample.

    Ids default to ``sample-0``, ``sample-1``... in call order within one test.
    """
    counter = itertools.count()

    def factory(
        response: str,
        prompt: str = DEFAULT_PROMPT,
        reference: Any = None,
        *,
        id: Any = None,  # the wire format's own key, shadowing the builtin on purpose
        system: str | None = None,
        tools: Sequence[Any] | None = None,
        **metadata: Any,
    ) -> dict[str, Any]:
        from rewardsmith.core.sample import make_sample

        return make_sample(prompt, response, reference=reference, metadata=metadata,
                           system=system, tools=tools,
                           id=f"sample-{next(counter)}" if id is None else id)

    return factory


# -- judge-service simulators ----------------------------------------------------------
@pytest.fixture
def aws_dummy_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Dummy AWS credentials and region; no profile or config files; IMDS off."""
    for name in list(os.environ):  # boto3 reads these itself; a real one must never leak in
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASIMULATOR000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "simulator-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    empty = tmp_path / "aws-empty-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))


@pytest.fixture
def converse_simulator(aws_dummy_env: None) -> Iterator[ConverseSimulator]:
    """A running Converse simulator (no AWS account needed)."""
    from rewardsmith.simulators.converse_sim import ConverseSimulator

    with ConverseSimulator() as sim:
        yield sim


@pytest.fixture
def openai_simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAISimulator]:
    """A running OpenAI-compatible simulator; ``OPENAI_API_KEY`` set to a dummy."""
    from rewardsmith.simulators.openai_sim import OpenAISimulator

    monkeypatch.setenv("OPENAI_API_KEY", "sk-simulator-dummy")
    with OpenAISimulator() as sim:
        yield sim


@pytest.fixture
def bedrock_judge_settings(converse_simulator: ConverseSimulator) -> dict[str, Any]:
    """A ``[judge]`` table pointing the ``bedrock`` backend at ``converse_simulator``."""
    from rewardsmith.simulators.wiring import bedrock_settings

    return bedrock_settings(converse_simulator.endpoint_url)


@pytest.fixture
def openai_judge_settings(openai_simulator: OpenAISimulator) -> dict[str, Any]:
    """A ``[judge]`` table pointing the ``openai`` backend at ``openai_simulator``."""
    from rewardsmith.simulators.wiring import openai_settings

    return openai_settings(openai_simulator.base_url)
