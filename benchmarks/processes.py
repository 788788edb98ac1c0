"""A process and its descendants, read from /proc: what the benchmarks measure a run by (its CPU time and
resident memory, the run worker and every process it started)."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def tree_stats(root: int) -> list[list[str]]:
    """The /proc/<pid>/stat fields (after the command name) of `root` and its descendants."""
    parents: dict[int, int] = {}
    fields: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[1])
        fields[int(entry.name)] = stat
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in fields:
            found.append(fields[pid])
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return found


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of `root` and its descendants (0 when it is gone)."""
    return sum(int(stat[11]) + int(stat[12]) for stat in tree_stats(root)) / TICKS


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and its descendants."""
    return sum(int(stat[21]) for stat in tree_stats(root)) * PAGE_SIZE
