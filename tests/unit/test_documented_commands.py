"""Every command the documentation shows still exists, with every option it shows.

The command lines of the shell code blocks (```bash, ```sh, ```console or no language) of
README.md, CONTRIBUTING.md and docs/*.md are collected and checked against the code without
running them:

* `cdp ...` / `uv run cdp ...`: parsed by the real click group (`orchestration.cli.main`): the
  subcommand resolves and its options and values parse (values in <angle brackets> are
  replaced by a dummy);
* `uv run dbt|dagster|sqlfluff|mf ...`: parsed by the tool's own click command; models named
  in `--select` exist; paths given to sqlfluff exist;
* `uv run python -m orchestration....`: the module is importable and answers `--help`, which
  lists every option shown; `uv run python bench/...`: the script exists, same `--help` check;
* `uv run pytest ...` and `uv run ruff ...`: the paths exist and `--help` lists every option.

Relative links (and their #headings) and the repository paths the pages name in backticks
must exist too. So renaming a command, an option, a module, a test file or a heading without
updating the docs fails here.
This proves the commands parse, not that they work: that is the other suites' job.
`cdp build` runs for real in tests/e2e/test_end_to_end.py, `cdp forget` and `cdp export` in
tests/e2e/test_privacy_erasure.py, `cdp audiences` in tests/e2e/test_audience_exports.py, `cdp ui`
(on a stand-in for `dg dev`) in tests/unit/test_cli_ui.py and `cdp explain` in
tests/dbt/test_identity_dbt.py; the nightly job behind `cdp build` and `cdp demo` runs in every
tests/e2e suite.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from contextlib import chdir
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

import click
import pytest

from orchestration.cli import main as cdp_main

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    [REPO_ROOT / "README.md", REPO_ROOT / "CONTRIBUTING.md", *(REPO_ROOT / "docs").glob("*.md")]
)
SHELL_BLOCKS = {"", "bash", "sh", "shell", "console"}
PLACEHOLDER = re.compile(r"<[^<>\s][^<>]*>")
DUMMY = "placeholder"
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
COMMAND_SEPARATORS = {"&&", "||", ";", "|"}
UV_RUN_VALUE_OPTIONS = {"--extra", "--group", "--with", "--python", "-p", "--package", "--env-file"}
CLICK_TOOLS = {"dbt", "dagster", "sqlfluff", "mf"}
# Options of pytest and ruff that take the next token as their value (not a path).
VALUE_OPTIONS = {
    "pytest": {"-k", "-m", "-p", "-c", "--durations", "--maxfail", "--deselect", "--ignore"},
    "ruff": {"--select", "--ignore", "--config", "--output-format", "--target-version"},
}


@dataclass(frozen=True)
class Command:
    """One documented command: where it is written, and its words after `uv run` options."""

    document: str
    line: int
    text: str
    words: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.document}:{self.line}: {self.text}"


# --- collecting ------------------------------------------------------------------------------


def shell_lines(markdown: str) -> list[tuple[int, str]]:
    """(line number, logical line) of every shell code block; `\\` continuations joined."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    in_shell = False
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(markdown.splitlines(), start=1):
        stripped = raw.strip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence, in_shell = stripped[:3], stripped[3:].strip().lower() in SHELL_BLOCKS
            continue
        if fence is not None and stripped.startswith(fence):
            fence = None
            continue
        if fence is None or not in_shell:
            continue
        start, text = pending if pending else (number, "")
        text = f"{text} {stripped}".strip()
        if text.endswith("\\"):
            pending = (start, text[:-1])
            continue
        pending = None
        lines.append((start, text))
    return lines


def split_commands(text: str) -> list[list[str]]:
    """The simple commands of one shell line: comments dropped, split at `&&`, `;`, `|`."""
    words = shlex.split(PLACEHOLDER.sub(DUMMY, text), comments=True)
    commands: list[list[str]] = [[]]
    for word in words:
        if word in COMMAND_SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(word)
    return [command for command in commands if command]


def documented_words(words: list[str]) -> tuple[str, ...] | None:
    """The words of a project command (`cdp ...` or `uv run <tool> ...`) without leading
    environment assignments and `uv run` options; None for other commands (pip, mkdir, ...)."""
    while words and ENV_ASSIGNMENT.match(words[0]):
        words = words[1:]
    if words[:1] == ["cdp"]:
        return tuple(words)
    if words[:2] != ["uv", "run"]:
        return None
    rest = words[2:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in UV_RUN_VALUE_OPTIONS else rest[1:]
    if rest[:2] == ["python", "-c"]:
        return None  # inline Python: nothing to resolve
    return tuple(rest) or None


def collect(path: Path) -> list[Command]:
    name = str(path.relative_to(REPO_ROOT))
    found = []
    for line, text in shell_lines(path.read_text()):
        for words in split_commands(text):
            documented = documented_words(words)
            if documented:
                found.append(Command(name, line, text, documented))
    return found


COMMANDS = [command for document in DOCUMENTS for command in collect(document)]


# --- checking --------------------------------------------------------------------------------


def unparsed(ctx: click.Context) -> list[str]:
    """The words a group left for its subcommand (click 8 keeps the first apart)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*getattr(ctx, "protected_args", []), *ctx.args]


def parse_click(command: click.Command, name: str, args: list[str]) -> click.Context:
    """Parse `args` as `command` would, down to the last subcommand, without invoking it:
    an unknown command or option, a missing required option or a bad value raises."""
    ctx = command.make_context(name, list(args))
    while isinstance(command, click.Group) and unparsed(ctx):
        sub_name, sub, rest = command.resolve_command(ctx, unparsed(ctx))
        assert sub is not None and sub_name is not None
        ctx, command = sub.make_context(sub_name, rest, parent=ctx), sub
    return ctx


@cache
def click_tool(name: str) -> click.Command:
    """The click command behind a console script (or its module's `cli`, as for dagster)."""
    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == name]
    loaded = script.load()
    if isinstance(loaded, click.Command):
        return loaded
    return importlib.import_module(script.module).cli


@cache
def help_text(*argv: str) -> str:
    """`argv --help` from the repository root; fails unless it exits 0."""
    result = subprocess.run(
        [*argv, "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{' '.join(argv)} --help failed:\n{result.stderr[-2000:]}"
    return result.stdout


def assert_options_listed(words: tuple[str, ...], help_output: str) -> None:
    for word in words:
        option = word.split("=", 1)[0]
        if option.startswith("-") and option != "-":
            listed = re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_output)
            assert listed, f"option {option} is not in the --help output"


def positional_words(tool: str, words: tuple[str, ...]) -> list[str]:
    """The non-option words of a pytest/ruff command: option values skipped."""
    found, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in VALUE_OPTIONS[tool]
        else:
            found.append(word)
    return found


def assert_paths_exist(paths: list[str]) -> None:
    for path in paths:
        assert (REPO_ROOT / path.split("::")[0]).exists(), f"{path} does not exist"


def dbt_node_exists(name: str) -> bool:
    patterns = [f"{name}.sql", f"{name}.py", f"{name}.csv"]
    roots = [REPO_ROOT / "dbt_project", REPO_ROOT / "seeds"]
    return any(next(root.rglob(p), None) for root in roots for p in patterns)


def assert_dbt_selection_exists(ctx: click.Context) -> None:
    for selector in " ".join(ctx.params.get("select") or ()).split():
        name = selector.strip("+@").lstrip("0123456789").lstrip("+")
        if ":" in name or "*" in name or "/" in name or name == DUMMY:
            continue  # selection methods and globs: dbt resolves them at run time
        assert dbt_node_exists(name), f"--select {selector}: no such model, seed or test"


def check(words: tuple[str, ...]) -> None:
    """Raise if the command `words` (as collected) would not resolve against the code."""
    tool, args = words[0], list(words[1:])
    if tool == "cdp":
        parse_click(cdp_main, "cdp", args)
    elif tool in CLICK_TOOLS:
        with chdir(REPO_ROOT):  # as documented: from the repository root (dbt finds profiles.yml)
            ctx = parse_click(click_tool(tool), tool, args)
        if tool == "dbt":
            assert_dbt_selection_exists(ctx)
        if tool == "sqlfluff":
            assert_paths_exist(list(ctx.params.get("paths") or ()))
    elif tool == "python" and args[:1] == ["-m"]:
        module = args[1]
        assert module.startswith("orchestration."), f"{module}: not a project module"
        assert importlib.util.find_spec(module) is not None, f"{module} is not importable"
        assert_options_listed(tuple(args[2:]), help_text(sys.executable, "-m", module))
    elif tool == "python" and args[:1] and args[0].startswith("bench/"):
        assert (REPO_ROOT / args[0]).is_file(), f"{args[0]} does not exist"
        assert_options_listed(tuple(args[1:]), help_text(sys.executable, args[0]))
    elif tool == "pytest":
        assert_paths_exist(positional_words("pytest", tuple(args)))
        assert_options_listed(tuple(args), help_text(sys.executable, "-m", "pytest"))
    elif tool == "ruff":
        ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
        subcommand, rest = args[0], tuple(args[1:])
        assert_paths_exist(positional_words("ruff", rest))
        assert_options_listed(rest, help_text(ruff, subcommand))
    else:
        raise AssertionError(f"`uv run {tool}`: no check for this tool; add one here")


# --- tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", COMMANDS, ids=lambda c: f"{c.document}:{c.line}: {' '.join(c.words)}"
)
def test_documented_command_resolves_against_the_code(command: Command) -> None:
    try:
        check(command.words)
        problem = None
    except click.ClickException as exc:
        problem = exc.format_message()
    except AssertionError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(f"{command}\n  {problem}", pytrace=False)


def test_every_cdp_subcommand_is_documented_in_a_code_block() -> None:
    shown = {c.words[1] for c in COMMANDS if c.words[0] == "cdp" and len(c.words) > 1}
    assert set(cdp_main.commands) - shown == set()


def test_readme_quick_start_is_demo_then_the_test_command_ci_runs() -> None:
    readme = [text for _, text in shell_lines((REPO_ROOT / "README.md").read_text())]
    first, second = (shlex.split(line, comments=True) for line in readme[:2])
    assert first == ["pip", "install", "uv", "&&", "uv", "run", "cdp", "demo"]
    assert second == ["uv", "run", "pytest", "-q"]
    ci = (REPO_ROOT / ".ci" / "run").read_text().splitlines()
    assert "uv run pytest -q" in [line.strip() for line in ci]


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the headings: lower case, punctuation dropped, spaces as `-`."""
    anchors = set()
    for line in markdown.splitlines():
        if match := re.match(r"#{1,6}\s+(.*)", line):
            anchors.add(re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_relative_links_point_to_existing_files_and_headings(document: Path) -> None:
    text = document.read_text()
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        missing_heading = bool(anchor) and linked.suffix == ".md" and linked.exists() and (
            anchor not in heading_anchors(linked.read_text())
        )
        if not linked.exists() or missing_heading:
            broken.append(target)
    assert broken == []


REPO_PATH = re.compile(
    r"`((?:orchestration|tests|bench|dbt_project|seeds|deploy|docs|\.ci)/[^`\s<>*]*)`"
)
# Paths the docs name on purpose although they do not exist: an example to copy, a cache.
ILLUSTRATIVE_PATHS = {
    "dbt_project/models/marts/audiences/audience__cart_abandoners.yml",
    "dbt_project/models/marts/audiences/audience__cart_abandoners.sql",
    "bench/.cache/",
}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_repository_paths_named_in_the_docs_exist(document: Path) -> None:
    named = set(REPO_PATH.findall(document.read_text())) - ILLUSTRATIVE_PATHS
    assert sorted(p for p in named if not (REPO_ROOT / p).exists()) == []


# --- the checks themselves can fail ----------------------------------------------------------


@pytest.mark.parametrize(
    "words",
    [
        ("cdp", "no-such-command"),
        ("cdp", "build", "--no-such-option"),
        ("cdp", "export", "--email", DUMMY),  # --out is required
        ("cdp", "generate", "--days", "many"),
        ("dbt", "build", "--select", "no_such_model"),
        ("python", "-m", "orchestration.no_such_module"),
        ("python", "bench/run.py", "--no-such-flag"),
        ("pytest", "-q", "tests/unit/test_no_such_file.py"),
        ("make", "all"),
    ],
    ids=" ".join,
)
def test_a_command_that_no_longer_matches_the_code_is_rejected(words: tuple[str, ...]) -> None:
    with pytest.raises((click.ClickException, AssertionError)):
        check(words)


def test_collection_finds_commands_behind_env_vars_uv_options_and_and_chains() -> None:
    markdown = "\n".join([
        "```bash",
        "pip install uv && uv run cdp demo   # first",
        "CDP_RAW_DIR=/d uv run --extra spark python -m orchestration.x \\",
        "  --all-days",
        "mkdir -p x",
        "```",
        "```text",
        "cdp build",
        "```",
    ])
    lines = shell_lines(markdown)
    found = [documented_words(words) for _, text in lines for words in split_commands(text)]
    assert [w for w in found if w] == [
        ("cdp", "demo"), ("python", "-m", "orchestration.x", "--all-days")
    ]
    assert [number for number, _ in lines] == [2, 3, 5]
