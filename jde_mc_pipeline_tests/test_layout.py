"""The package's layout rules, read from the source with `ast` (nothing is imported).

- The connector reaches the emulators over HTTP only: no module outside `jde_mc_pipeline/emulators/`,
  `cli.py` and `demo.py` imports `jde_mc_pipeline.emulators`.
- The emulators take nothing from the connector but the table catalogue, `jde_mc_pipeline/jde/tables.py`.
- No import cycle. Every import statement counts, also inside functions and `if TYPE_CHECKING:` blocks:
  a cycle hidden there is still two modules that cannot be understood (or moved) one without the other.
- No cycle between packages either: inside every package, its subpackages and modules (each taken with
  everything under it) import each other without a circle (`sync` ↔ `defs`, `defs.jde` ↔
  `defs.automation` would be one).
- The core is free of Dagster: only `defs/`, the command line, the demo and `definitions.py` import
  `dagster` or `jde_mc_pipeline.defs`; nothing imports a private `dagster._…` module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jde_mc_pipeline"
EMULATORS = "jde_mc_pipeline.emulators"
MAY_IMPORT_EMULATORS = (EMULATORS, "jde_mc_pipeline.cli", "jde_mc_pipeline.demo")
SHARED_WITH_EMULATORS = {"jde_mc_pipeline.jde", "jde_mc_pipeline.jde.tables"}
DEFS = "jde_mc_pipeline.defs"
MAY_IMPORT_DAGSTER = (DEFS, "jde_mc_pipeline.cli", "jde_mc_pipeline.demo", "jde_mc_pipeline.definitions")


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the package (a package is its `__init__.py`)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _imported(name: str, path: Path) -> Iterator[str]:
    """Every dotted name an import statement of the module names, relative ones made absolute.

    `from x import y` names both `x` and `x.y` (y may be a module or a name inside x).
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _resolve(target: str) -> str | None:
    """The package module a dotted name lives in (`a.b.Name` → `a.b`); None outside the package."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _packages() -> list[str]:
    return sorted(name for name, path in MODULES.items() if path.name == "__init__.py")


def _import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        resolved = {_resolve(target) for target in _imported(name, path)}
        graph[name] = {module for module in resolved if module is not None and module != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _shortest_loop(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete cycle through the component's first module (breadth first, inside the component)."""
    start, inside = component[0], set(component)
    paths = {start: [start]}
    queue = [start]
    for node in queue:
        for successor in sorted(graph[node] & inside):
            if successor == start:
                return [*paths[node], start]
            if successor not in paths:
                paths[successor] = [*paths[node], successor]
                queue.append(successor)
    return component


def test_only_the_cli_the_demo_and_the_emulators_import_the_emulators():
    assert f"{EMULATORS}.ais.server" in MODULES and f"{EMULATORS}.mailchimp.server" in MODULES
    offenders = sorted(
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if not any(_within(name, allowed) for allowed in MAY_IMPORT_EMULATORS)
        for target in set(_imported(name, path))
        if _within(target, EMULATORS)
    )
    assert not offenders, "the connector must reach the emulators over HTTP only:\n" + "\n".join(offenders)


def test_the_emulators_share_only_the_table_catalogue_with_the_connector():
    offenders = sorted(
        f"{name} imports {module}"
        for name, path in MODULES.items()
        if _within(name, EMULATORS)
        for module in {_resolve(target) for target in _imported(name, path)}
        if module is not None and not _within(module, EMULATORS) and module not in SHARED_WITH_EMULATORS
    )
    assert not offenders, "the emulators import connector code:\n" + "\n".join(offenders)


def test_the_package_has_no_import_cycle():
    graph = _import_graph()
    assert graph[f"{EMULATORS}.ais.server"], "the graph sees no import at all"
    cycles = _cycles(graph)
    report = [
        f"{len(cycle)} modules: {', '.join(cycle)}\n  e.g. {' -> '.join(_shortest_loop(graph, cycle))}"
        for cycle in cycles
    ]
    assert not cycles, "import cycles (every import statement counts):\n" + "\n".join(report)


def _package_graph(package: str, graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The imports between the members of `package` (its subpackages and modules, each standing for
    everything under it); the package's own `__init__` is not a member."""

    def member(name: str) -> str | None:
        if not name.startswith(package + "."):
            return None
        return f"{package}.{name[len(package) + 1 :].split('.')[0]}"

    members: dict[str, set[str]] = {}
    for name, targets in graph.items():
        source = member(name)
        if source is None:
            continue
        members.setdefault(source, set())
        for target in map(member, targets):
            if target is not None and target != source:
                members[source].add(target)
                members.setdefault(target, set())
    return members


def test_no_package_imports_another_in_a_circle():
    graph = _import_graph()
    assert f"{DEFS}.automation" in _package_graph(DEFS, graph), "the package graph sees no subpackage"
    report = [
        f"in {package}: {' -> '.join(_shortest_loop(members, cycle))}"
        for package in _packages()
        for members in [_package_graph(package, graph)]
        for cycle in _cycles(members)
    ]
    assert not report, "packages that import each other in a circle:\n" + "\n".join(report)


def test_the_core_imports_neither_dagster_nor_the_code_location():
    """sync, mapping, audit, jde, mailchimp, settings, the emulators: plain Python, usable and testable
    without Dagster; the code location (defs/) wraps them, never the other way round."""
    assert any(
        _within(target, "dagster") for target in _imported(f"{DEFS}.resources", MODULES[f"{DEFS}.resources"])
    )
    offenders = sorted(
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if not any(_within(name, allowed) for allowed in MAY_IMPORT_DAGSTER)
        for target in set(_imported(name, path))
        if _within(target, "dagster") or _within(target, DEFS)
    )
    assert not offenders, "the core must not depend on Dagster or on defs/:\n" + "\n".join(offenders)


def test_nothing_imports_a_private_dagster_module():
    """`dagster._…` may change in any release: only the public API (`import dagster as dg`) is used."""
    offenders = sorted(
        f"{name} imports {target}"
        for name, path in MODULES.items()
        for target in set(_imported(name, path))
        if target.split(".")[0].startswith("dagster")
        and any(part.startswith("_") for part in target.split(".")[1:])
    )
    assert not offenders, "private Dagster modules:\n" + "\n".join(offenders)


ENVIRONMENT_READER = "jde_mc_pipeline.settings.environment"
ENVIRONMENT_READERS = {ENVIRONMENT_READER, "jde_mc_pipeline.demo", "jde_mc_pipeline.cli"}
"""The settings (every setting's variable is read there), the demo and the command line."""


def test_only_the_settings_and_the_command_line_read_the_environment() -> None:
    readers = {
        name
        for name, path in MODULES.items()
        if any(word in path.read_text(encoding="utf-8") for word in ("os.environ", "os.getenv", "getenv("))
    }
    assert readers <= ENVIRONMENT_READERS
    assert ENVIRONMENT_READER in readers
