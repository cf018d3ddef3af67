"""Loops in a directed graph: the tangles (strongly connected components) and the simple cycles in each.

Pure functions over ``edges``: node -> {next node: anything}. Used by the
forward-loop check (``voipctl.model.checks.forwards``).
"""

from __future__ import annotations

from typing import Any


def strongly_connected(edges: dict[tuple, dict[tuple, Any]]) -> list[list[tuple]]:
    """The strongly connected components of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[tuple, int] = {}
    low: dict[tuple, int] = {}
    stack: list[tuple] = []
    on_stack: set[tuple] = set()
    found: list[list[tuple]] = []
    for root in edges:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(edges.get(root, ())))]
        while work:
            node, successors = work[-1]
            nxt = next(successors, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


# Loops listed per tangle of forwards, and the search steps spent finding them.
MAX_LOOPS, MAX_LOOP_STEPS = 10, 20000


def simple_cycles(
    component: list[tuple], edges: dict[tuple, dict[tuple, Any]], rank: dict[tuple, Any]
) -> tuple[list[list[tuple]], bool]:
    """Each loop of ``component`` once, starting at its first node by ``rank``; and whether all were found.

    A depth-first search from each node through later-ranked nodes only, so
    every loop is found from its first node and never twice. Bounded: a
    dense tangle stops at MAX_LOOPS loops or MAX_LOOP_STEPS steps.
    """
    members = set(component)
    loops: list[list[tuple]] = []
    steps = 0
    for start in component:
        path, on_path = [start], {start}
        work = [iter(edges[start])]
        while work:
            nxt = next(work[-1], None)
            if nxt is None:
                work.pop()
                on_path.discard(path.pop())
                continue
            steps += 1
            if steps > MAX_LOOP_STEPS:
                return loops, False
            if nxt == start:
                if len(loops) == MAX_LOOPS:
                    return loops, False
                loops.append(list(path))
            elif nxt in members and nxt not in on_path and rank[nxt] > rank[start]:
                path.append(nxt)
                on_path.add(nxt)
                work.append(iter(edges.get(nxt, ())))
    return loops, True
