"""The package's layout rules, read from the source with `ast` (nothing is imported).

- The connector reaches the emulators over HTTP only: no module outside `jde_mc_pipeline/emulators/`,
  `cli.py` and `demo.py` imports `jde_mc_pipeline.emulators`.
- The emulators take nothing from the connector but the table catalogue, `jde_mc_pipeline/jde/tables.py`.
- No import cycle. Every import statement counts, also inside functions and `if TYPE_CHECKING:` blocks:
  a cycle hidden there is still two modules that cannot be understood (or moved) one without the other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jde_mc_pipeline"
EMULATORS = "jde_mc_pipeline.emulators"
MAY_IMPORT_EMULATORS = (EMULATORS, "jde_mc_pipeline.cli", "jde_mc_pipeline.demo")
SHARED_WITH_EMULATORS = {"jde_mc_pipeline.jde", "jde_mc_pipeline.jde.tables"}


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


ENVIRONMENT_READERS = {"jde_mc_pipeline.defs.environment", "jde_mc_pipeline.demo", "jde_mc_pipeline.cli"}
"""The resource layer (every setting's variable is read there) and the command line."""


def test_only_the_resource_layer_and_the_command_line_read_the_environment() -> None:
    readers = {
        name
        for name, path in MODULES.items()
        if any(word in path.read_text(encoding="utf-8") for word in ("os.environ", "os.getenv", "getenv("))
    }
    assert readers <= ENVIRONMENT_READERS
    assert "jde_mc_pipeline.defs.environment" in readers
