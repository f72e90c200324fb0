"""Import cycles between the modules of a package: ``python scripts/import_cycles.py [SRC_DIR]``.

Reads every module's *module-level* imports with ``ast`` (imports inside functions and under
``if TYPE_CHECKING:`` run later or never, so they cannot make an import-time cycle), resolves
relative ones, and counts importing ``a.b.c`` as importing the package ``a.b`` too (its
``__init__`` runs first), except a module's own packages (initialised before it runs) and the
root package (where every import starts). Prints each cycle (a strongly connected group of modules) and exits 1 if there is
one, 0 if none. ``tests/test_architecture.py`` runs it on ``src/llmnas``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(tree: ast.Module) -> list[ast.stmt]:
    out: list[ast.stmt] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                out.append(node)
            elif isinstance(node, ast.If):
                test = node.test
                name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
                if name != "TYPE_CHECKING":
                    visit(node.body)
                    visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for h in node.handlers:
                    visit(h.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(tree.body)
    return out


def graph(src: Path, package: str) -> dict[str, set[str]]:
    files = {module_name(p, src): p for p in (src / package).rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        here = mod.split(".") if is_pkg else mod.split(".")[:-1]
        for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = here[: len(here) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in files else base)
            for t in targets:
                parts = t.split(".")
                # a module's own packages are initialised before it runs: not an edge
                for i in range(2, len(parts) + 1):  # the packages on the way, then the module
                    name = ".".join(parts[:i])
                    if name in files and name != mod and not mod.startswith(name + "."):
                        edges[mod].add(name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    group.append(m)
                    if m == node:
                        break
                if len(group) > 1:
                    out.append(sorted(group))
    return out


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "src"
    package = argv[2] if len(argv) > 2 else "llmnas"
    edges = graph(src, package)
    found = cycles(edges)
    n_edges = sum(len(v) for v in edges.values())
    if not found:
        print(f"no import cycle among {len(edges)} modules ({n_edges} module-level imports)")
        return 0
    for group in found:
        print(f"cycle of {len(group)} modules: " + ", ".join(group))
    print(f"{len(found)} import cycle(s) among {len(edges)} modules")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
