"""No module cycles: no two modules of ``tracker`` import each other, however indirectly.

grimp (which import-linter brings) reads every import, those inside functions too. A cycle
means neither module can be read, tested or moved without the other.
"""

import grimp


def cycles(graph) -> list[set[str]]:
    """The strongly connected parts of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            part = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.add(member)
                if member == module:
                    break
            if len(part) > 1:
                found.append(part)

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_cycles_are_found():
    graph = grimp.ImportGraph()
    for importer, imported in (("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("e", "d")):
        graph.add_import(importer=importer, imported=imported)
    assert cycles(graph) == [{"a", "b", "c"}]


def test_the_package_has_no_module_cycles():
    graph = grimp.build_graph("tracker", cache_dir=None)
    found = sorted(map(sorted, cycles(graph)))
    assert not found, f"modules that import each other: {found}"
