"""The manual against the code: the configuration table names the variables the code reads.

``docs/configuration.md`` has one table of environment variables. The variables the code reads
are collected from four places: :meth:`Settings.from_env` (called with a mapping that records
every name it asks for), the Python modules of the product, its tools and its tests
(``os.environ.get("X")``, ``os.getenv("X")``, ``os.environ["X"]``, ``env.get("X")`` and the like),
the shell scripts (``${X:-default}``) and the Makefile (``X ?= default``), and Rasa's YAML
(``${X}`` in ``bot/*.yml``). Each must have a row, and each row must name a variable the code
reads. The defaults the table gives for the settings are checked against ``Settings`` too. Also:
every relative link in the manual leads to a file, and to a heading of it when it names one.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from dataclasses import fields
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Set, Tuple

import pytest

from knowledge.config import PROJECT_ROOT, Settings

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = ROOT / "docs" / "configuration.md"
PYTHON_DIRS = ("knowledge", "bot", "actions", "handoffs", "scripts", "bench", "tests")
SHELL_SCRIPTS = ("scripts/install.sh", "scripts/install-browser.sh", ".ci/run")
RASA_YAML = ("bot/endpoints.yml", "bot/credentials.yml", "config.yml")
MANUAL = ("README.md", "docs", "bench/README.md")
NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
ENV_RECEIVERS = {"environ", "env"}
# Read by the code, but not a setting of this project: no row.
NOT_SETTINGS = {
    "PYTHONPATH": "scripts/stack.py puts the project root in front of it for the servers",
}


class RecordingEnv(Mapping[str, str]):
    """An empty environment that remembers every variable asked for."""

    def __init__(self) -> None:
        self.asked: Set[str] = set()

    def __getitem__(self, key: str) -> str:
        # Mapping.get and ``in`` come here too.
        self.asked.add(key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def settings_variables() -> Set[str]:
    """Every variable :meth:`Settings.from_env` reads."""
    env = RecordingEnv()
    Settings.from_env(env)
    return env.asked


def _is_env(node: ast.expr) -> bool:
    """``os.environ``, ``environ``, ``env`` or ``self.env``: a mapping of environment variables."""
    if isinstance(node, ast.Attribute):
        return node.attr in ENV_RECEIVERS
    return isinstance(node, ast.Name) and node.id in ENV_RECEIVERS


def _literal(node: ast.expr) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.match(node.value):
        return node.value
    return None


def python_reads(source: str) -> Set[str]:
    """Variable names a module reads from the environment, by literal name."""
    names: Set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = _literal(node.args[0])
            if name is None or not isinstance(func, ast.Attribute):
                continue
            mapping_get = func.attr == "get" and _is_env(func.value)
            os_getenv = func.attr == "getenv" and isinstance(func.value, ast.Name)
            if mapping_get or os_getenv:
                names.add(name)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            name = _literal(node.slice)
            if name is not None and _is_env(node.value):
                names.add(name)
    return names


def python_files() -> Iterator[Path]:
    for folder in PYTHON_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.resolve() != Path(__file__).resolve():
                yield path


def code_variables() -> Dict[str, str]:
    """Every environment variable the code reads by name, with one place that reads it."""
    found: Dict[str, str] = {name: "knowledge/config.py" for name in settings_variables()}
    for path in python_files():
        for name in python_reads(path.read_text(encoding="utf-8")):
            found.setdefault(name, str(path.relative_to(ROOT)))
    for script in SHELL_SCRIPTS:
        text = (ROOT / script).read_text(encoding="utf-8")
        for name in re.findall(r"\$\{([A-Z][A-Z0-9_]*):?-", text):
            found.setdefault(name, script)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for name in re.findall(r"^(?:export\s+)?([A-Z][A-Z0-9_]*)\s*\?=", makefile, re.M):
        found.setdefault(name, "Makefile")
    for yml in RASA_YAML:
        text = (ROOT / yml).read_text(encoding="utf-8")
        for line in text.splitlines():
            if not line.lstrip().startswith("#"):
                for name in re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", line):
                    found.setdefault(name, yml)
    return found


def table_rows() -> List[Tuple[List[str], str]]:
    """The configuration table: (variable names, meaning) per row."""
    rows: List[Tuple[List[str], str]] = []
    for line in CONFIGURATION.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        first, rest = line[1:].split("|", 1)
        names = re.findall(r"`([^`]+)`", first)
        assert names and all(NAME.match(n) for n in names), f"not a variable row: {line}"
        rows.append((names, rest.rstrip().rstrip("|").strip()))
    return rows


def documented() -> Dict[str, str]:
    """Variable name -> meaning, from the table (a variable is listed once)."""
    table: Dict[str, str] = {}
    for names, meaning in table_rows():
        for name in names:
            assert name not in table, f"{name} has two rows in {CONFIGURATION.name}"
            table[name] = meaning
    return table


def test_the_parsers_see_what_they_should() -> None:
    """A guard for the scanners themselves: known reads of each kind are found."""
    assert {"FAQBOT_ANSWER_THRESHOLD", "DATABASE_URL", "WHATSAPP_API_URL"} <= settings_variables()
    source = (
        "import os\n"
        "a = os.environ.get('A_VAR')\n"
        "b = os.getenv('B_VAR', '1')\n"
        "c = os.environ['C_VAR']\n"
        "d = self.env.get('D_VAR')\n"
        "os.environ['E_VAR'] = '1'\n"
        "f = {}.get('F_VAR')\n"
    )
    assert python_reads(source) == {"A_VAR", "B_VAR", "C_VAR", "D_VAR"}
    found = code_variables()
    assert found["RASA_PORT"] == "scripts/stack.py"
    assert found["CHROMIUM"] == "scripts/install-browser.sh"
    assert found["CASES"] == "Makefile"
    assert found["ACTION_ENDPOINT_URL"] == "bot/endpoints.yml"


def test_every_variable_the_code_reads_has_a_row() -> None:
    table = documented()
    missing = {
        name: where
        for name, where in code_variables().items()
        if name not in table and name not in NOT_SETTINGS
    }
    assert not missing, f"add rows to docs/configuration.md for {missing}"


def test_every_row_names_a_variable_the_code_reads() -> None:
    read = code_variables()
    unread = sorted(name for name in documented() if name not in read)
    assert not unread, f"docs/configuration.md documents variables nothing reads: {unread}"


def _field_of(name: str) -> str:
    return name[len("FAQBOT_") :].lower() if name.startswith("FAQBOT_") else name.lower()


def _default_text(value: object) -> Optional[str]:
    """How the table writes a default; ``None`` for the ones it words (off, none, on)."""
    if isinstance(value, bool) or value is None or value == ():
        return None
    if isinstance(value, (int, float)):
        return f"{value:g}"
    if isinstance(value, Path):
        return value.relative_to(PROJECT_ROOT).as_posix()
    if isinstance(value, str) and value.startswith(f"sqlite:///{PROJECT_ROOT}"):
        return Path(value[len("sqlite:///") :]).relative_to(PROJECT_ROOT).as_posix()
    return str(value)


def test_the_table_gives_the_settings_defaults() -> None:
    table = documented()
    defaults = Settings()
    names = {f.name for f in fields(Settings)}
    checked = 0
    for variable in settings_variables():
        field = _field_of(variable)
        assert field in names, f"{variable}: no Settings field {field}"
        expected = _default_text(getattr(defaults, field))
        if expected is None:
            continue
        bracket = re.findall(r"\[([^\[\]]*)\]", table[variable])
        assert bracket, f"{variable}: the row gives no default in brackets"
        text = bracket[-1].replace("`", "")
        if isinstance(getattr(defaults, field), (int, float)):
            found = re.search(rf"(?<![\d.]){re.escape(expected)}(?![\d.])", text)
        else:
            found = re.search(re.escape(expected), text)
        assert found, f"{variable}: default {expected!r} is not in [{text}]"
        checked += 1
    assert checked >= 40


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*]", "", heading.strip()).lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def _anchors(path: Path) -> Set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {_anchor(m) for m in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def manual_files() -> List[Path]:
    files: List[Path] = []
    for entry in MANUAL:
        path = ROOT / entry
        files.extend(sorted(path.glob("*.md")) if path.is_dir() else [path])
    return files


@pytest.mark.parametrize("page", manual_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_of_the_manual_resolves(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        destination = (page.parent / file_part).resolve() if file_part else page
        missing_anchor = (
            destination.exists()
            and bool(anchor)
            and destination.suffix == ".md"
            and anchor not in _anchors(destination)
        )
        if not destination.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def test_the_readme_points_to_every_page_of_the_manual() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name}" in readme, f"README.md does not link docs/{page.name}"
