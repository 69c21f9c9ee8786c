from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from rewardsmith import load_pack
from rewardsmith.core.errors import PackError
from rewardsmith.core.pack import pack_json_schema

BASE = """
[pack]
name = "base"
version = "1.0.0"
description = "base pack"

[[components]]
id = "nonempty"
type = "non-empty"
gate = { fail_reward = 0.0 }

[[components]]
id = "has_yes"
type = "contains"
needle = "yes"
weight = 2

[[components]]
id = "has_no"
type = "contains"
needle = "no"
"""


def _error(host, path) -> str:
    with pytest.raises(PackError) as info:
        load_pack(path, host)
    return str(info.value)


def test_loads_components_with_defaults(host, write_pack) -> None:
    pack = load_pack(write_pack(BASE), host)
    assert [c.config.id for c in pack.components] == ["nonempty", "has_yes", "has_no"]
    assert [c.config.effective_weight for c in pack.components] == [0.0, 2.0, 1.0]
    assert pack.reward_range == (0.0, 1.0)
    assert pack.failure_reward == 0.0
    assert pack.hash.startswith("sha256:")


def test_extends_overrides_removes_and_appends(host, write_pack) -> None:
    write_pack(BASE, "base.toml")
    child = write_pack("""
[pack]
name = "child"
version = "2.0.0"
extends = "base.toml"
remove_components = ["has_no"]
reward_range = [-1.0, 1.0]

[[components]]
id = "has_yes"
weight = 5

[[components]]
id = "extra"
type = "contains"
needle = "extra"
""", "child.toml")
    pack = load_pack(child, host)
    assert pack.name == "child"
    assert [c.config.id for c in pack.components] == ["nonempty", "has_yes", "extra"]
    has_yes = pack.components[1].config
    assert has_yes.weight == 5 and has_yes.needle == "yes"  # type: ignore[attr-defined]
    assert pack.reward_range == (-1.0, 1.0)
    assert pack.description == "base pack"
    assert pack.chain[0].endswith("base.toml")


def test_hash_is_stable_and_tracks_content(host, write_pack) -> None:
    first = load_pack(write_pack(BASE), host).hash
    again = load_pack(write_pack(BASE + "\n# a comment changes nothing\n"), host).hash
    changed = load_pack(write_pack(BASE.replace('needle = "yes"', 'needle = "yep"')), host).hash
    assert first == again
    assert first != changed


def test_unknown_type_names_file_line_component_and_alternatives(host, write_pack) -> None:
    path = write_pack(BASE.replace('type = "contains"\nneedle = "no"', 'type = "contians"'))
    msg = _error(host, path)
    assert f"{path}:20:" in msg  # the line of the bad type
    assert "id='has_no'" in msg
    assert "unknown component type 'contians'" in msg
    assert "contains" in msg and "non-empty" in msg


def test_typo_in_config_key_is_named_with_suggestion(host, write_pack) -> None:
    msg = _error(host, write_pack(BASE.replace('needle = "yes"', 'neddle = "yes"')))
    assert "id='has_yes'" in msg
    assert "unknown key 'neddle'" in msg
    assert "did you mean 'needle'" in msg


def test_negative_weight_is_rejected(host, write_pack) -> None:
    msg = _error(host, write_pack(BASE.replace("weight = 2", "weight = -2")))
    assert "id='has_yes'" in msg and "weight" in msg and "greater than or equal to 0" in msg


def test_formula_naming_missing_component(host, write_pack) -> None:
    path = write_pack(BASE + '\n[aggregate]\nmethod = "formula"\nformula = "has_yes + hsa_no"\n')
    msg = _error(host, path)
    assert str(path) in msg and "aggregate.formula" in msg and "'hsa_no'" in msg


@pytest.mark.parametrize(
    ("mutation", "fragment"),
    [
        (lambda t: t.replace('version = "1.0.0"', ""), "pack.version: Field required"),
        (lambda t: t + '\n[aggregate]\nmethod = "median"\n', "aggregate.method"),
        (lambda t: t.replace("[pack]", "[pack]\nreward_range = [1, 0]"), "reward_range"),
        (lambda t: t.replace('id = "has_no"', 'id = "has_yes"'), "used twice"),
        (lambda t: t.replace('id = "has_no"', 'id = "has-no"'), "must be an identifier"),
        (lambda t: t + "\n[unknown_table]\nx = 1\n", "unknown_table"),
        (lambda t: t.replace("[pack]", "[pack\n"), "invalid TOML"),
        (lambda t: t.replace('name = "base"', 'name = "base"\nextends = "nope.toml"'),
         "no pack named 'nope.toml'"),
    ],
)
def test_other_invalid_packs(host, write_pack, mutation, fragment) -> None:
    assert fragment in _error(host, write_pack(mutation(BASE)))


def test_extends_cycle_is_detected(host, write_pack) -> None:
    write_pack('[pack]\nname = "a"\nversion = "1"\nextends = "b.toml"\n', "a.toml")
    b = write_pack('[pack]\nname = "b"\nversion = "1"\nextends = "a.toml"\n', "b.toml")
    assert "cycle" in _error(host, b)


def test_json_schema_export_is_a_discriminated_union(host) -> None:
    schema = pack_json_schema(host)
    items = schema["properties"]["components"]["items"]
    assert items["discriminator"]["propertyName"] == "type"
    assert set(items["discriminator"]["mapping"]) >= {"non-empty", "contains", "sleepy"}


def test_registered_pack_by_name(host) -> None:
    with pytest.raises(PackError) as info:
        load_pack("no-such-pack", host)
    msg = str(info.value)
    assert "no pack named 'no-such-pack'" in msg


def test_no_positive_weight_is_rejected(host, write_pack) -> None:
    text = '[pack]\nname = "z"\nversion = "1"\n[[components]]\nid = "a"\ntype = "non-empty"\n' \
           'weight = 0\n'
    assert "positive weight" in _error(host, write_pack(text))


def test_pack_file_missing(host, tmp_path: Path) -> None:
    assert "does not exist" in _error(host, tmp_path / "missing.toml")


def test_extending_a_builtin_pack_from_another_folder_keeps_its_files(tmp_path: Path) -> None:
    from rewardsmith import make_plugin_host

    host = make_plugin_host()
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "strict.json").write_text('{"type": "object", "required": ["x"]}')
    child = tmp_path / "child.toml"
    child.write_text("""
[pack]
name = "my-extraction"
version = "1.0.0"
extends = "json-extraction"

[[components]]
id = "schema"
weight = 7

[[components]]
id = "strict"
type = "json-schema"
schema_file = "schemas/strict.json"
""")
    pack = load_pack(child, host)
    by_id = {c.config.id: c for c in pack.components}
    assert by_id["schema"].config.weight == 7  # the parent's schema file still resolved
    assert by_id["strict"].config.type == "json-schema"
    parent_hash = load_pack("json-extraction", host).hash
    assert pack.hash != parent_hash


def test_missing_referenced_file_names_where_it_looked(host, write_pack, tmp_path) -> None:
    from rewardsmith.core.component import ComponentContext

    context = ComponentContext(search_paths=(tmp_path / "a", tmp_path / "b"))
    with pytest.raises(FileNotFoundError) as info:
        context.read_text("schemas/x.json")
    assert str(tmp_path / "a" / "schemas" / "x.json") in str(info.value)
    assert str(tmp_path / "b" / "schemas" / "x.json") in str(info.value)


def test_bad_nested_discriminator_is_not_called_an_unknown_type(tmp_path: Path) -> None:
    from rewardsmith import make_plugin_host

    path = tmp_path / "p.toml"
    path.write_text('[pack]\nname = "m"\nversion = "1"\n[[components]]\nid = "ctr"\n'
                    'type = "product-metric"\nsource = { kind = "sql", query = "x" }\n'
                    'transform = { kind = "identity" }\n')
    with pytest.raises(PackError) as info:
        load_pack(path, make_plugin_host())
    msg = str(info.value)
    assert "unknown component type" not in msg
    assert "id='ctr'" in msg and "source" in msg and "sql" in msg


@pytest.mark.parametrize(
    ("mutation", "fragment"),
    [
        (lambda t: t.replace("fail_reward = 0.0", "fail_reward = nan"), "finite number"),
        (lambda t: t.replace("fail_reward = 0.0", "fail_reward = 5.0"), "outside reward_range"),
        (lambda t: t.replace("[pack]", "[pack]\nreward_range = [-inf, 1.0]"), "finite number"),
        (lambda t: t.replace("weight = 2", "weight = inf"), "finite number"),
    ],
)
def test_non_finite_or_out_of_range_numbers_are_rejected(host, write_pack, mutation,
                                                         fragment) -> None:
    assert fragment in _error(host, write_pack(mutation(BASE)))


def test_pack_files_stay_inside_the_pack_folder(tmp_path: Path) -> None:
    from rewardsmith.core.component import MAX_PACK_FILE_BYTES, ComponentContext

    inside = tmp_path / "pack"
    (inside / "schemas").mkdir(parents=True)
    (inside / "schemas" / "ok.json").write_text("{}")
    (tmp_path / "secret.json").write_text("{}")
    (inside / "schemas" / "link.json").symlink_to(tmp_path / "secret.json")
    (inside / "big.json").write_bytes(b" " * (MAX_PACK_FILE_BYTES + 1))
    context = ComponentContext(search_paths=(inside,))
    assert context.read_text("schemas/ok.json") == "{}"
    for bad, fragment in [(str(tmp_path / "secret.json"), "relative path"),
                          ("../secret.json", "relative path"),
                          ("schemas/link.json", "outside the pack"),
                          ("big.json", "larger than")]:
        with pytest.raises(ValueError, match=fragment):
            context.read_text(bad)


JUDGED = """
[pack]
name = "judged"
version = "1"

[judge]
backend = "openai"
model = "m"
{judge_extra}

[[components]]
id = "quality"
type = "rubric-judge"
criteria = [{{ id = "c", pass_if = "good" }}]

[tests]
suite = "cases.jsonl"
{tests_extra}
"""


@pytest.fixture
def full_host():
    from rewardsmith import make_plugin_host

    return make_plugin_host()


def test_judge_and_tests_tables_are_typed(full_host, write_pack) -> None:
    pack = load_pack(write_pack(JUDGED.format(judge_extra="max_concurrency = 4",
                                              tests_extra='simulator = "default"')), full_host)
    assert pack.document.judge_settings() == {"backend": "openai", "model": "m",
                                              "max_concurrency": 4}
    assert pack.document.tests is not None and pack.document.tests.simulator == "default"
    assert pack.components[0].context.judge_defaults["max_concurrency"] == 4


@pytest.mark.parametrize(("judge_extra", "tests_extra", "line", "fragment"), [
    ("modle = 'x'", "", 9, "[judge]: unknown key 'modle'; did you mean 'model'?"),
    ("max_concurrency = 0", "", 9, "[judge]: max_concurrency: Input should be greater than"),
    ("", "simulater = 'default'", 18, "[tests]: unknown key 'simulater'; did you mean "
     "'simulator'?"),
    ("", "simulator = 'recorded'", 18, "[tests]: simulator: Input should be 'verdicts' or "
     "'default'"),
])
def test_judge_and_tests_errors_name_file_line_and_key(full_host, write_pack, judge_extra,
                                                        tests_extra, line, fragment) -> None:
    path = write_pack(JUDGED.format(judge_extra=judge_extra, tests_extra=tests_extra))
    message = _error(full_host, path)
    assert f"{path}:{line}: {fragment}" in message


def test_unknown_judge_backend_lists_the_installed_ones(full_host, write_pack) -> None:
    text = JUDGED.format(judge_extra="", tests_extra="").replace('"openai"', '"openia"')
    path = write_pack(text)
    message = _error(full_host, path)
    assert f"{path}:7: [judge]: unknown judge backend 'openia' (did you mean 'openai'?); " \
           "installed backends: bedrock, openai" in message


def test_a_child_pack_error_in_an_inherited_judge_key_names_the_parent_file(
        full_host, write_pack) -> None:
    parent = write_pack(JUDGED.format(judge_extra="timeout_s = -1", tests_extra=""),
                        "parent.toml")
    child = write_pack('[pack]\nname = "child"\nversion = "2"\nextends = "parent.toml"\n'
                       '[judge]\nmodel = "other"\n', "child.toml")
    message = _error(full_host, child)
    assert f"{parent}:9: [judge]: timeout_s: Input should be greater than 0" in message


def test_json_schema_types_judge_and_tests(full_host) -> None:
    schema = pack_json_schema(full_host)
    judge = schema["properties"]["judge"]
    text = str(judge)
    assert "additionalProperties': True" not in text and "OpenAIConfigSettings" in text
    assert schema["$defs"]["TestsTable"]["additionalProperties"] is False


def _unnarrowed_error(host, path, monkeypatch) -> str:
    """The error load_pack gives when its document model holds every installed type."""
    from rewardsmith.core import pack as pack_module

    with monkeypatch.context() as patch:
        patch.setattr(pack_module, "_named_types", lambda document, host: None)
        return _error(host, path)


@pytest.mark.parametrize(
    "mutation",
    [
        lambda t: t.replace('needle = "yes"', 'neddle = "yes"'),
        lambda t: t.replace("weight = 2", "weight = -2"),
        lambda t: t.replace('needle = "no"', "needle = 3"),
        # one type only: the document model is that config, not a union
        lambda t: t.split("[[components]]\nid = \"has_yes\"")[0].replace(
            "gate = { fail_reward = 0.0 }", "gate = { fail_reward = 0.0 }\nextra = 1"),
    ],
)
def test_errors_read_the_same_when_the_model_holds_only_the_pack_types(
        host, write_pack, monkeypatch, mutation) -> None:
    path = write_pack(mutation(BASE))
    msg = _error(host, path)
    assert msg == _unnarrowed_error(host, path, monkeypatch)
    assert "id=" in msg


def test_component_configs_are_built_only_for_the_types_a_pack_uses(write_pack) -> None:
    from rewardsmith import Component, ComponentConfig, Score, make_plugin_host
    from rewardsmith.core.hookspecs import hookimpl

    class Unused(Component):
        class Config(ComponentConfig):
            type: Literal["unused-here"] = "unused-here"

        def score(self, sample):  # pragma: no cover - never scored
            return Score.from_bool(True, "never scored")

    class Plugin:
        @hookimpl
        def register_components(self, register) -> None:
            register(Unused)

    from tests.support import toy_plugin

    host = make_plugin_host(load_entry_points=False,
                            plugins=[("toy", toy_plugin), ("unused", Plugin())])
    assert not Unused.Config.__pydantic_complete__  # deferred: nothing validated yet
    pack = load_pack(write_pack(BASE), host)
    assert [c.config.type for c in pack.components] == ["non-empty", "contains", "contains"]
    assert not Unused.Config.__pydantic_complete__  # the pack does not use it
    unused = write_pack(BASE + '\n[[components]]\nid = "u"\ntype = "unused-here"\n', "u.toml")
    assert load_pack(unused, host).components[-1].config.type == "unused-here"


def _line(text: str, fragment: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line of ``text`` containing ``fragment``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    return hits[nth - 1]


def test_duplicate_component_id_names_both_lines(host, write_pack) -> None:
    text = BASE.replace('id = "has_no"', 'id = "has_yes"')
    path = write_pack(text)
    msg = _error(host, path)
    second, first = _line(text, 'id = "has_yes"', 2), _line(text, 'id = "has_yes"', 1)
    assert f"{path}:{second}: component id 'has_yes' is used twice" in msg
    assert f"first at {path}:{first}" in msg and "give each [[components]] its own id" in msg


def test_formula_unknown_name_has_line_and_suggestion(host, write_pack) -> None:
    text = BASE + '\n[aggregate]\nmethod = "formula"\nformula = "has_yes + hsa_no"\n'
    path = write_pack(text)
    msg = _error(host, path)
    assert msg.startswith(f"{path}:{_line(text, 'formula = ')}: aggregate.formula: ")
    assert "names 'hsa_no'" in msg and "(did you mean 'has_no'?)" in msg


def test_aggregate_method_typo_has_line_and_suggestion(host, write_pack) -> None:
    text = BASE + '\n[aggregate]\nmethod = "weighted_man"\n'
    path = write_pack(text)
    msg = _error(host, path)
    assert (f"{path}:{_line(text, 'method = ')}: aggregate.method = 'weighted_man' is not "
            f"one of 'weighted_mean', 'formula' (did you mean 'weighted_mean'?)") in msg
    assert "Input should be" not in msg  # not pydantic's raw text


def test_unknown_aggregate_key_has_line_and_suggestion(host, write_pack) -> None:
    text = BASE + '\n[aggregate]\nmethod = "weighted_mean"\nformul = "x"\n'
    path = write_pack(text)
    msg = _error(host, path)
    assert f"{path}:{_line(text, 'formul = ')}: [aggregate]: unknown key 'formul'" in msg
    assert "did you mean 'formula'?" in msg


def test_extends_typo_of_a_file_has_line_and_suggestion(host, write_pack) -> None:
    write_pack(BASE, "base.toml")
    text = '[pack]\nname = "child"\nversion = "1"\nextends = "bsae.toml"\n'
    path = write_pack(text, "child.toml")
    msg = _error(host, path)
    assert msg.startswith(f"{path}:4: pack.extends: no pack named 'bsae.toml'")
    assert "(did you mean 'base.toml'?)" in msg


def test_extends_typo_of_a_registered_pack_via_packs_validate(write_pack) -> None:
    from click.testing import CliRunner

    from rewardsmith import make_plugin_host
    from rewardsmith.cli import build_cli

    path = write_pack('[pack]\nname = "e"\nversion = "1"\nextends = "json-extractoin"\n',
                      "e.toml")
    real = make_plugin_host()
    result = CliRunner().invoke(build_cli(real), ["packs", "validate", str(path)],
                                obj={"host": real})
    assert result.exit_code != 0
    assert f"{path}:4: pack.extends: no pack named 'json-extractoin'" in result.output
    assert "(did you mean 'json-extraction'?)" in result.output
