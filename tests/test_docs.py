"""The authoring docs stay true: every hook is documented with its exact signature, and
the tested examples in docs/ load, score and fail exactly as the text says."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from rewardsmith import PluginHost, load_pack, make_plugin_host
from rewardsmith.core import hookspecs
from rewardsmith.core.component import ComponentConfig
from rewardsmith.core.errors import PackError
from rewardsmith.core.pack import PackMeta

DOCS = Path(__file__).parents[1] / "docs"
PLUGINS_DOC = DOCS / "writing-plugins.md"
PACKS_DOC = DOCS / "writing-packs.md"
_EXAMPLE_RE = re.compile(r"<!-- doctest: ([\w-]+) -->\n```(\w+)\n(.*?)\n```", re.DOTALL)
_EXPECTED_RE = re.compile(r"\A\s*```text\n(.*?)\n```", re.DOTALL)
ARGS = ("-p", "no:cacheprovider", "-p", "no:asyncio")


def examples(doc: Path, kind: str) -> list[tuple[str, str]]:
    """(code, text after the block) for every example marked ``<!-- doctest: kind -->``."""
    text = doc.read_text(encoding="utf-8")
    return [(m.group(3) + "\n", text[m.end():]) for m in _EXAMPLE_RE.finditer(text)
            if m.group(1) == kind]


def hookspec_functions() -> list[object]:
    return [fn for _, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(fn, "rewardsmith_spec")]


def source_signature(fn: object) -> str:
    """``def name(arg: Annotation) -> Return:`` as written in the source (annotations are
    strings under ``from __future__ import annotations``, so no quotes are added)."""
    sig = inspect.signature(fn)  # type: ignore[arg-type]
    params = ", ".join(
        p.name if p.annotation is inspect.Parameter.empty else f"{p.name}: {p.annotation}"
        for p in sig.parameters.values()
    )
    returns = "" if sig.return_annotation is inspect.Signature.empty else (
        f" -> {sig.return_annotation}")
    return f"def {fn.__name__}({params}){returns}:"  # type: ignore[attr-defined]


def normalise(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def builtin_host() -> PluginHost:
    return make_plugin_host(allow=["checks", "packs"])


def test_there_are_hooks_to_document():
    assert {fn.__name__ for fn in hookspec_functions()} >= {  # type: ignore[attr-defined]
        "register_components", "register_judge_backends", "register_rubric_packs",
        "register_commands"}


@pytest.mark.parametrize("hook", hookspec_functions(), ids=lambda fn: fn.__name__)
def test_every_hook_is_documented_with_its_exact_signature_and_docstring(hook):
    doc = normalise(PLUGINS_DOC.read_text(encoding="utf-8"))
    assert f"### {hook.__name__}" in PLUGINS_DOC.read_text(encoding="utf-8")
    assert normalise(source_signature(hook)) in doc, source_signature(hook)
    assert normalise(f'"""{inspect.getdoc(hook)}"""') in doc


def test_source_signature_matches_the_hookspec_source():
    fn = hookspecs.register_rubric_packs
    assert source_signature(fn) in inspect.getsource(fn)


@pytest.mark.parametrize("field", sorted(PackMeta.model_fields))
def test_every_pack_key_is_documented(field: str):
    assert f"| `{field}` |" in PACKS_DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("field", sorted(ComponentConfig.model_fields))
def test_every_common_component_key_is_documented(field: str):
    assert f"| `{field}` |" in PACKS_DOC.read_text(encoding="utf-8")


def test_relative_links_between_docs_resolve():
    for doc in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([\w.-]+\.md)(?:#[\w-]+)?\)", doc.read_text()):
            assert (DOCS / target).is_file(), f"{doc.name} links to missing {target}"


def test_pack_examples_load(builtin_host: PluginHost, tmp_path: Path):
    packs = [t for t in examples(PACKS_DOC, "pack") if "extends" not in t[0]]
    assert len(packs) >= 2
    for i, (text, _) in enumerate(packs):
        path = tmp_path / f"example{i}.toml"
        path.write_text(text, encoding="utf-8")
        pack = load_pack(path, builtin_host)
        assert pack.components, text


def test_extends_example_merges_as_documented(tmp_path: Path):
    host = make_plugin_host(allow=["checks", "packs", "judges", "bedrock"])
    [text] = [t for t, _ in examples(PACKS_DOC, "pack") if "extends" in t]
    path = tmp_path / "child.toml"
    path.write_text(text, encoding="utf-8")
    child, parent = load_pack(path, host), load_pack("contract-review", host)
    assert [c.config.id for c in child.components] == [
        *(c.config.id for c in parent.components if c.config.id != "length"), "no_pii"]
    review = {c.config.id: c.config for c in child.components}["review"]
    parent_review = {c.config.id: c.config for c in parent.components}["review"]
    assert review.weight == 0.8
    assert review.model_dump(exclude={"weight"}) == parent_review.model_dump(exclude={"weight"})
    assert child.document.judge_settings() == {**parent.document.judge_settings(),
                                               "max_concurrency": 20}
    assert (child.name, child.version) == ("contract-review-eu", "1.0.0")
    assert child.hash != parent.hash


def expected_pattern(expected: str) -> re.Pattern[str]:
    """Documented text with ``...`` standing for anything (e.g. the installed types)."""
    return re.compile(".*?".join(re.escape(part) for part in expected.split("...")), re.DOTALL)


def test_documented_validation_errors_are_the_real_ones(
    builtin_host: PluginHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)  # error messages name the file as it was given
    cases = examples(PACKS_DOC, "error")
    assert len(cases) >= 2
    for text, after in cases:
        expected = _EXPECTED_RE.match(after)
        assert expected, "an error example must be followed by a ```text block"
        Path("pack.toml").write_text(text, encoding="utf-8")
        with pytest.raises(PackError) as caught:
            load_pack(Path("pack.toml"), builtin_host)
        assert expected_pattern(expected.group(1)).fullmatch(str(caught.value)), (
            f"documented:\n{expected.group(1)}\nactual:\n{caught.value}")


def test_pack_testing_example_passes(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.setenv("REWARDSMITH_PLUGINS", "checks")
    first_pack = examples(PACKS_DOC, "pack")[0][0]
    assert 'name = "support-reply"' in first_pack
    pytester.makefile(".toml", **{"support-reply": first_pack})
    [(test_code, _)] = examples(PACKS_DOC, "pack-test")
    pytester.makepyfile(test_support_reply=test_code)
    pytester.runpytest(*ARGS).assert_outcomes(passed=1)


def test_complete_minimal_plugin_example_works(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.setenv("REWARDSMITH_PLUGINS", "checks")
    [(module, _)] = examples(PLUGINS_DOC, "plugin-module")
    [(pack, _)] = examples(PLUGINS_DOC, "plugin-pack")
    [(test_code, _)] = examples(PLUGINS_DOC, "plugin-test")
    pytester.makepyfile(acme_checks=module, test_acme_checks=test_code)
    pytester.makefile(".toml", **{"acme-tone": pack})
    pytester.syspathinsert()
    pytester.runpytest(*ARGS).assert_outcomes(passed=1)


# -- the architecture doc and the README layout follow the tree -------------------------------
SRC = Path(__file__).parents[1] / "src" / "rewardsmith"
ARCHITECTURE_DOC = DOCS / "architecture.md"
README = DOCS.parent / "README.md"
_FENCE_RE = re.compile(r"```\n(src/rewardsmith/\n.*?)```", re.DOTALL)


def packages() -> list[str]:
    """Every package under src/rewardsmith, as ``a/b/``, and the top-level modules."""
    found = sorted(f"{p.parent.relative_to(SRC).as_posix()}/"
                   for p in SRC.rglob("__init__.py") if p.parent != SRC)
    return found + sorted(p.name for p in SRC.glob("*.py"))


def documented_tree() -> set[str]:
    """The paths in the architecture doc's tree, rebuilt from its indentation."""
    match = _FENCE_RE.search(ARCHITECTURE_DOC.read_text(encoding="utf-8"))
    assert match is not None, "docs/architecture.md has no src/rewardsmith/ tree"
    paths: set[str] = set()
    stack: list[str] = []
    for line in match.group(1).splitlines()[1:]:
        stripped = line.lstrip(" ")
        depth = (len(line) - len(stripped)) // 2 - 1
        name = stripped.split(" ", 1)[0]
        if depth < 0 or not name.endswith(("/", ".py")):
            continue  # a description continued, or the lines after the tree
        del stack[depth:]
        paths.add("".join(stack) + name)
        if name.endswith("/"):
            stack.append(name)
    return paths


def test_the_tree_reader_sees_the_doc():
    tree = documented_tree()
    assert {"core/", "core/engine.py", "plugins/checks/", "cli/main.py"} <= tree


@pytest.mark.parametrize("package", packages())
def test_every_package_is_in_the_architecture_tree(package: str):
    assert package in documented_tree(), f"add {package} to docs/architecture.md"


def test_every_module_is_in_the_architecture_tree():
    """Issue 15: the tree is complete, module by module, not only package by package."""
    modules = sorted(p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")
                     if p.name not in ("__init__.py", "__main__.py")
                     and "template" not in p.relative_to(SRC).parts)
    tree = documented_tree()
    assert [m for m in modules if m not in tree] == [], "add them to docs/architecture.md"


def test_nothing_but_the_public_api_and_the_pytest_plugin_is_loose_at_the_top():
    assert sorted(p.name for p in SRC.glob("*.py")) == ["__init__.py", "pytest_plugin.py"]


TESTS = Path(__file__).parent
# Test folders without a package of their own: shared helpers, the example third-party
# distributions (docs/examples) installed into a throw-away venv and tested as a user would,
# and the shared real-world cases (../shared/cases), each of which crosses several packages.
_NOT_MIRRORS = {"support", "third_party", "cases"}


def test_the_tests_mirror_src():
    """Every tests/<dir> with tests names a src package, every src package has tests (in its
    own folder, a parent's or its subpackages'), and the loose test files are the loose
    modules' and the docs'."""
    src_packages = {p.rstrip("/") for p in packages() if p.endswith("/")}
    test_dirs = {p.parent.relative_to(TESTS).as_posix() for p in TESTS.rglob("test_*.py")
                 if p.parent != TESTS}
    assert sorted(d for d in test_dirs - src_packages
                  if d.split("/")[0] not in _NOT_MIRRORS) == []
    assert sorted(p for p in src_packages
                  if not any(p == d or f"{p}/".startswith(f"{d}/") or d.startswith(f"{p}/")
                             for d in test_dirs)) == []
    loose = sorted(p.name for p in TESTS.glob("test_*.py"))
    docs_tests = {"test_docs.py", "test_docs_run.py"}
    assert loose == sorted(docs_tests | {f"test_{p.name}" for p in SRC.glob("*.py")
                                         if p.name != "__init__.py"})


@pytest.mark.parametrize("package", sorted({p.split("/")[0] for p in packages()}
                                            - {"__init__.py"}))
def test_every_top_level_package_is_in_the_readme_layout(package: str):
    layout = README.read_text(encoding="utf-8").split("## Layout", 1)[1]
    assert f"src/rewardsmith/{package}" in layout


def _command_paths(group: object, prefix: str = "") -> list[str]:
    paths = []
    for name, command in sorted(getattr(group, "commands", {}).items()):
        paths.append(prefix + name)
        paths.extend(_command_paths(command, f"{prefix}{name} "))
    return paths


def first_party_commands() -> list[str]:
    from rewardsmith.cli import build_cli

    return _command_paths(build_cli(make_plugin_host(load_entry_points=False)))


def test_there_are_commands_to_document():
    assert {"score", "packs new", "lambda package", "loadtest"} <= set(first_party_commands())


@pytest.mark.parametrize("command", first_party_commands())
def test_every_command_is_documented(command: str):
    assert f"| `rewardsmith {command}` |" in ARCHITECTURE_DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("hook", hookspec_functions(), ids=lambda fn: fn.__name__)
def test_every_hook_is_named_in_the_architecture_doc(hook):
    assert hook.__name__ in ARCHITECTURE_DOC.read_text(encoding="utf-8")
