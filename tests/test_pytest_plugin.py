"""The fixtures rewardsmith's pytest plugin gives plugin and pack authors, exercised the
way an author uses them: in a separate pytest run (``pytester``) that finds them with no
conftest, because the plugin is installed as a ``pytest11`` entry point."""

from __future__ import annotations

import pytest

ARGS = ("-p", "no:cacheprovider", "-p", "no:asyncio")

PACK = """
[pack]
name = "author-pack"
version = "1.2.0"
reward_range = [-1.0, 1.0]

[[components]]
id = "not_empty"
type = "length"
min = 1
gate = { fail_reward = -1.0 }

[[components]]
id = "mentions_refund"
type = "keywords"
required = ["refund"]
weight = 3.0

[[components]]
id = "short"
type = "length"
unit = "words"
max = 5
"""

AUTHOR_PLUGIN = '''
from typing import Literal

from rewardsmith import Component, ComponentConfig, Score
from rewardsmith.core.hookspecs import hookimpl

CLOSED = []


class Shouting(Component):
    class Config(ComponentConfig):
        type: Literal["shouting"] = "shouting"

    def score(self, sample):
        letters = [c for c in sample.response if c.isalpha()]
        upper = sum(c.isupper() for c in letters)
        return Score(upper / len(letters) if letters else 0.0, measurements={"upper": upper})

    async def aclose(self):
        CLOSED.append(self.config.id)


@hookimpl
def register_components(register):
    register(Shouting)
'''


def write_pack(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pack=PACK)


def test_fixtures_are_available_without_a_conftest(pytester: pytest.Pytester):
    result = pytester.runpytest("--fixtures", *ARGS)
    for name in ("rewardsmith_host", "rewardsmith_host_factory", "rewardsmith_scorer",
                 "rewardsmith_sample"):
        result.stdout.fnmatch_lines([f"{name}*"])


def test_sample_builds_the_wire_format(pytester: pytest.Pytester):
    pytester.makepyfile("""
        from rewardsmith import parse_sample

        def test_shape(rewardsmith_sample):
            first = rewardsmith_sample("Hi there", prompt="Greet me", system="Be brief",
                                       reference="Hello", topic="greeting")
            assert first == {
                "id": "sample-0",
                "messages": [{"role": "system", "content": "Be brief"},
                             {"role": "user", "content": "Greet me"},
                             {"role": "assistant", "content": "Hi there"}],
                "reference_answer": "Hello",
                "metadata": {"topic": "greeting"},
            }
            parsed = parse_sample(first, 0)
            assert parsed.response == "Hi there"
            assert parsed.reference_text == "Hello"
            assert parsed.metadata == {"topic": "greeting"}
            assert parsed.prompt_text() == "Be brief\\n\\nGreet me"

        def test_ids_and_defaults(rewardsmith_sample):
            a, b = rewardsmith_sample("x"), rewardsmith_sample("y", id=42, tools=[{"name": "t"}])
            assert a["id"] == "sample-0" and b["id"] == 42
            assert set(a) == {"id", "messages"}
            assert parse_sample(b, 1).tools == ({"name": "t"},)
    """)
    pytester.runpytest(*ARGS).assert_outcomes(passed=2)


def test_scorer_loads_a_pack_path_and_authors_assert_on_rewards(pytester: pytest.Pytester):
    write_pack(pytester)
    pytester.makepyfile("""
        import pytest

        @pytest.fixture
        def scorer(rewardsmith_scorer, pytester_root):
            return rewardsmith_scorer(pytester_root / "pack.toml")

        @pytest.fixture
        def pytester_root(request):
            return request.config.rootpath

        def test_rewards(scorer, rewardsmith_sample):
            batch = scorer.score([rewardsmith_sample("Your refund is on its way."),
                                  rewardsmith_sample("Your money is on its way."),
                                  rewardsmith_sample("")])
            good, no_keyword, empty = batch.results
            assert scorer.pack.name == "author-pack"
            # reward_range [-1, 1]: weighted mean (3*1 + 0) / 4 mapped from [0, 1].
            assert good.aggregate_reward_score == pytest.approx(-1 + 2 * 3 / 4)
            assert no_keyword.aggregate_reward_score == pytest.approx(-1.0)
            assert (empty.status, empty.aggregate_reward_score) == ("gated", -1.0)

        def test_a_wrong_expectation_fails(scorer, rewardsmith_sample):
            [result] = scorer.score([rewardsmith_sample("Your refund is on its way.")]).results
            assert result.aggregate_reward_score == 1.0
    """)
    result = pytester.runpytest(*ARGS)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*_ test_a_wrong_expectation_fails _*",
                                 "E*assert 0.5 == 1.0"])


def test_scorer_resolves_registered_names_and_closes_at_teardown(pytester: pytest.Pytester):
    pytester.makepyfile(author_plugin=AUTHOR_PLUGIN)
    pytester.makefile(".toml", shout="""
        [pack]
        name = "shout"
        version = "1"

        [[components]]
        id = "loud"
        type = "shouting"
    """)
    pytester.makepyfile(test_it="""
        import author_plugin
        from rewardsmith.core.hookspecs import hookimpl

        class PackPlugin:
            def __init__(self, path):
                self.path = path

            @hookimpl
            def register_rubric_packs(self, register):
                register("shout", self.path)

        def test_score(rewardsmith_host_factory, rewardsmith_scorer, rewardsmith_sample,
                       request):
            host = rewardsmith_host_factory(plugins=[
                ("author_plugin", author_plugin),
                ("packs_here", PackPlugin(request.config.rootpath / "shout.toml")),
            ])
            scorer = rewardsmith_scorer("shout", host=host)
            [result] = scorer.score([rewardsmith_sample("HEY you")]).results
            assert result.aggregate_reward_score == 0.5
            assert result.components["loud"].measurements == {"upper": 3}
            assert author_plugin.CLOSED == []

        def test_closed_after_the_previous_test():
            assert author_plugin.CLOSED == ["loud"]
    """)
    pytester.syspathinsert()
    pytester.runpytest(*ARGS).assert_outcomes(passed=2)


def test_host_loads_the_installed_plugins(pytester: pytest.Pytester):
    pytester.makepyfile("""
        def test_host(rewardsmith_host, rewardsmith_host_factory):
            assert "length" in rewardsmith_host.components
            assert rewardsmith_host.components["length"].distribution == "rewardsmith"
            assert rewardsmith_host is not rewardsmith_host_factory()  # a fresh host per call
    """)
    pytester.runpytest(*ARGS).assert_outcomes(passed=1)


def test_host_factory_adds_restricts_and_replaces_plugins(pytester: pytest.Pytester):
    pytester.makepyfile(author_plugin=AUTHOR_PLUGIN)
    pytester.makepyfile(test_factory="""
        import types

        import author_plugin
        import pytest
        from rewardsmith.core.errors import PluginError

        def test_add(rewardsmith_host_factory):
            host = rewardsmith_host_factory(plugins=[("author_plugin", author_plugin)])
            assert host.components["shouting"].plugin == "author_plugin"
            assert host.components["shouting"].distribution == "<local>"
            assert "length" in host.components

        def test_only_in_process(rewardsmith_host_factory):
            host = rewardsmith_host_factory(plugins=[("author_plugin", author_plugin)],
                                            load_entry_points=False)
            assert sorted(host.components) == ["shouting"]

        def test_allow(rewardsmith_host_factory):
            host = rewardsmith_host_factory(plugins=[("author_plugin", author_plugin)],
                                            allow=["checks"])
            assert sorted(host.infos) == ["author_plugin", "checks"]

        def test_allow_from_environment(rewardsmith_host_factory, monkeypatch):
            monkeypatch.setenv("REWARDSMITH_PLUGINS", "checks")
            assert sorted(rewardsmith_host_factory().infos) == ["checks"]
            host = rewardsmith_host_factory(plugins=[("author_plugin", author_plugin)])
            assert sorted(host.infos) == ["author_plugin", "checks"]

        def test_replaces_an_installed_plugin_of_the_same_name(rewardsmith_host_factory):
            # The package under test is often installed too (pip install -e .): the
            # in-process module must replace it, not collide with it.
            host = rewardsmith_host_factory(plugins=[("checks", author_plugin)])
            assert "length" not in host.components
            assert host.components["shouting"].plugin == "checks (local)"

        def test_replaces_an_installed_plugin_with_the_same_module(rewardsmith_host_factory):
            import rewardsmith.plugins.checks as checks
            host = rewardsmith_host_factory(plugins=[("my-checks", checks)])
            assert host.components["length"].plugin == "my-checks"
            assert "checks" not in host.infos

        def test_duplicates_still_fail_loudly(rewardsmith_host_factory):
            twin = types.ModuleType("twin")
            twin.register_components = author_plugin.register_components
            with pytest.raises(PluginError, match="registered twice"):
                rewardsmith_host_factory(plugins=[("author_plugin", author_plugin),
                                                  ("twin", twin)])
    """)
    pytester.syspathinsert()
    pytester.runpytest(*ARGS).assert_outcomes(passed=7)


def test_the_real_simulator_fixtures_are_registered(pytester: pytest.Pytester):
    result = pytester.runpytest("--fixtures", *ARGS)
    result.stdout.fnmatch_lines(["converse_simulator*", "openai_simulator*"], consecutive=False)
    # A conftest that also lists the module in pytest_plugins does not load it twice.
    pytester.makeconftest('pytest_plugins = ["rewardsmith.pytest_plugin"]')
    pytester.makepyfile("""
        def test_it(converse_simulator, bedrock_judge_settings):
            assert bedrock_judge_settings["backend"] == "bedrock"
    """)
    pytester.runpytest(*ARGS).assert_outcomes(passed=1)
