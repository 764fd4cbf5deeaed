"""The package's import structure, read from the source (``ast``, nothing is imported).

Layers, lowest first; a module may import its own layer and the layers below:

0. **core** (``recrepro.core``, and the package itself): plumbing every other module may use,
   which reads no study file and runs no model: errors, logs, rng, io, cputime, the results
   layout (``layout``, ``runs``), the config and its search spaces, provenance, a clean stop;
1. **libraries**: ``recrepro.data``, ``evaluation``, ``models``, ``experiments`` (the sources'
   own code of the reproduction table), ``stats``, ``report`` and everything inside them;
2. **study** (``recrepro.study``): running a study: the config check (it asks the libraries
   what exists), the runner, the searches, the summary;
3. **tools** (``recrepro.tools`` and ``recrepro.cli``): put the study's outputs to work.

An *upward* import goes to a higher layer (e.g. a report module importing ``recrepro.tools.bench``):
the shared piece belongs in a lower module. A *cycle* is a set of modules that import each other,
directly or not. Importing one's own parent package (a submodule naming ``recrepro.models`` to
look itself up) is no edge: the parent is always loaded first.

Imports at module level (including under ``if TYPE_CHECKING``) must be free of both. Imports
inside functions (lazy: run on first call) are counted separately; the ones listed in
:data:`KNOWN_LAZY` are known, with the reason they remain, and the list may only shrink.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "recrepro"
#: the top folder of each layer (module ``recrepro.<folder>...``); the package itself is core
LAYERS = {"core": 0, "data": 1, "evaluation": 1, "models": 1, "experiments": 1, "stats": 1, "report": 1,
          "schemas": 1, "study": 2, "tools": 3, "cli": 3}  # fmt: skip
#: Lazy imports (importer, imported; shell patterns) that still go upward or close a cycle, and
#: why: each is a one-line fix for the module's owner, importing the lower module named instead.
KNOWN_LAZY: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def _resolve(name: str) -> str | None:
    """The recrepro module that ``name`` (a module or a name inside one) lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> Iterator[tuple[str, bool]]:
    """``(imported module, lazy)`` of every recrepro import of ``module``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def walk(node: ast.AST, lazy: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, inner
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    yield f"{base}.{alias.name}", inner
            yield from walk(child, inner)

    for name, lazy in walk(ast.parse(path.read_text(encoding="utf-8")), False):
        target = _resolve(name) if name.split(".")[0] == "recrepro" else None
        if target and target != module and not module.startswith(target + "."):  # no parent package
            yield target, lazy


def edges() -> dict[tuple[str, str], bool]:
    """``(importer, imported) -> lazy`` (False if any import of the pair is at module level)."""
    found: dict[tuple[str, str], bool] = {}
    for module in MODULES:
        for target, lazy in _imports(module):
            found[(module, target)] = found.get((module, target), True) and lazy
    return found


def cycles(pairs: set[tuple[str, str]]) -> list[list[str]]:
    """The import cycles (strongly connected sets of two or more modules) among ``pairs``."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for a, b in pairs:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in graph:
        if node not in index:
            visit(node)
    return sorted(found)


def layer(module: str) -> int:
    """The module's layer (module doc); every module lives in a folder of :data:`LAYERS`."""
    parts = module.split(".")
    return 0 if len(parts) == 1 else LAYERS[parts[1]]


def upward(pairs: set[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted((a, b) for a, b in pairs if layer(b) > layer(a))


def test_no_import_cycle_at_module_level() -> None:
    top = {pair for pair, lazy in edges().items() if not lazy}
    assert cycles(top) == []


def known(pair: tuple[str, str]) -> bool:
    return any(fnmatchcase(pair[0], a) and fnmatchcase(pair[1], b) for a, b in KNOWN_LAZY)


def test_lazy_imports_close_no_cycle_but_known_ones() -> None:
    allowed = [sorted(pair) for pair in edges() if known(pair)]
    unknown = [c for c in cycles(set(edges())) if c not in allowed]
    assert unknown == []


def test_no_module_imports_a_higher_layer() -> None:
    found = edges()
    assert upward({pair for pair, lazy in found.items() if not lazy}) == []
    assert [pair for pair in upward(set(found)) if not known(pair)] == []
    gone = [k for k in KNOWN_LAZY if not any(known(p) and fnmatchcase(p[0], k[0]) and fnmatchcase(p[1], k[1])
                                             for p in found)]  # fmt: skip
    assert gone == [], "a known lazy import is gone: drop it from KNOWN_LAZY"


def test_every_module_lives_in_a_layer_folder_and_the_root_is_thin() -> None:
    assert all(module.split(".")[1] in LAYERS for module in MODULES if module != "recrepro")
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert root == ["__init__.py", "cli.py"], root
    assert layer("recrepro.report.figures") == layer("recrepro.data.movielens") == 1
    assert layer("recrepro.study.tuning") == 2 and layer("recrepro.tools.bench") == 3


def test_results_layout_has_one_home() -> None:
    """The rules, the command line, the runner and the report spell no path under results/runs
    or results/data themselves: they ask recrepro.core.layout."""
    spelled = []
    sources = [*PACKAGE.rglob("*.py"), *(ROOT / "workflow" / "rules").glob("*.smk")]
    for path in sources:
        if path.name in {"layout.py", "reproduction.smk", "reproduce.smk", "reproduction.py"}:
            continue  # the home itself; the reproduction files are their owner's to move
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            if any(f'"results/{part}' in code or f"'results/{part}" in code or f'f"results/{part}' in code
                   for part in ("runs", "data", "splits", "tuning/{")) or "parents[5]" in code:  # fmt: skip
                spelled.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert spelled == []
