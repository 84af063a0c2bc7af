"""Import contracts that import-linter does not express, and the console script's guard.

The layering contracts live in pyproject.toml ``[tool.importlinter]`` (``lint-imports``, run by
``python3 dev.py test``). Its ``acyclic_siblings`` contract looks at cycles between siblings; this
file also asserts, module by module, that no two modules of ``stock_manager`` import each other
through any chain. Imports under ``TYPE_CHECKING`` are left out, as in the import-linter
contracts: they never run, and they are how two modules name each other's types.
"""

from __future__ import annotations

import subprocess
import sys

import grimp

PACKAGE = "stock_manager"
RUN_TIMEOUT = 60


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        # Each frame: a module and the imports of it still to visit.
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = lowlink[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            step = next(imported, None)
            if step is not None:
                if step not in index:
                    index[step] = lowlink[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph.find_modules_directly_imported_by(step)))))
                elif step in on_stack:
                    lowlink[module] = min(lowlink[module], index[step])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[module])
            if lowlink[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def package_graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, exclude_type_checking_imports=True, cache_dir=None)


def cycle_chain(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    """One concrete loop through ``cycle``, as ``a -> b -> ... -> a``, for the failure message."""
    first, *rest = cycle
    back = graph.find_shortest_chain(importer=rest[0], imported=first) or ()
    there = graph.find_shortest_chain(importer=first, imported=rest[0]) or ()
    return " -> ".join([*there, *back[1:]])


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("p", "p.a", "p.b", "p.c", "p.d"):
        graph.add_module(module)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p.c", imported="p.d")
    assert import_cycles(graph) == [["p.a", "p.b", "p.c"]]
    assert "p.a -> p.b -> p.c -> p.a" in cycle_chain(graph, ["p.a", "p.b", "p.c"])


def test_no_module_of_the_package_is_in_an_import_cycle() -> None:
    graph = package_graph()
    assert len(graph.modules) > 50, "the graph did not find the package's modules"
    cycles = import_cycles(graph)
    assert cycles == [], "import cycles: " + "; ".join(cycle_chain(graph, c) for c in cycles)


def run_entry(blocked_module: str) -> subprocess.CompletedProcess[str]:
    """Run the console script's ``main`` with ``blocked_module`` impossible to import.

    ``sys.modules[name] = None`` makes ``import name`` raise ModuleNotFoundError exactly as a
    package that is not installed does.
    """
    code = (
        "import sys\n"
        f"sys.modules[{blocked_module!r}] = None\n"
        "sys.argv = ['stock-manager', '--help']\n"
        "from stock_manager._entry import main\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def test_without_the_cli_extra_the_command_names_it_in_one_line() -> None:
    done = run_entry("typer")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "stock-manager: the command line needs its extra (typer is not installed): "
        "pip install 'stock-manager[cli]'"
    ]


def test_a_missing_module_that_is_not_an_extra_still_raises() -> None:
    done = run_entry("stock_manager.cli.kis_cmd")
    assert done.returncode == 1
    assert "ModuleNotFoundError" in done.stderr
    assert "pip install" not in done.stderr


def test_with_the_cli_extra_the_command_runs() -> None:
    done = run_entry("no_such_module_is_blocked")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "stock-manager" in done.stdout
