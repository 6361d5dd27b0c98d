"""What Linux's /proc says of a process, for benchmarks and tests: its peak memory and its
children."""

from __future__ import annotations

from pathlib import Path


def peak_rss_kib(pid: int | str = "self") -> int:
    """The peak resident set of a process (VmHWM, KiB); 0 when it is gone. Not ru_maxrss: that
    also counts the parent's size at the fork that started the process, carried across exec."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def child_pids() -> list[int]:
    """This process's children, started from any of its threads."""
    found: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            found += [int(pid) for pid in (task / "children").read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
    return found
