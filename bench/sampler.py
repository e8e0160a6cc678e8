"""A CPU-time sampling profiler for a benchmark's server process, for machines without py-spy.

    .venv/bin/python bench/sampler.py OUT SCRIPT [ARGS…]

runs ``SCRIPT`` as ``__main__`` (``app.py`` patches the standard library there as it does when
started directly). ``SIGUSR1`` starts sampling: every 2 ms of the process's CPU time
(``ITIMER_PROF``) the interrupted Python stack is counted; ``SIGUSR2`` stops and writes the
counts to ``OUT`` as collapsed stacks (``outer;…;inner count`` a line, as py-spy's ``raw``
format and flamegraph tools read them). With eventlet or gevent every green thread runs on the
main thread, so the stack sampled is the one that was using the CPU.
"""
from __future__ import annotations

import collections
import runpy
import signal
import sys

INTERVAL = 0.002  # seconds of CPU time between samples


def _frame_name(frame) -> str:
    code = frame.f_code
    return f"{code.co_name} ({code.co_filename}:{frame.f_lineno})"


class Sampler:
    """Counts of the stacks interrupted by the CPU-time timer."""

    def __init__(self, out: str):
        self.out = out
        self.counts: collections.Counter[str] = collections.Counter()

    def sample(self, signum, frame) -> None:
        stack = []
        while frame is not None:
            stack.append(_frame_name(frame))
            frame = frame.f_back
        self.counts[";".join(reversed(stack))] += 1

    def start(self, signum=None, frame=None) -> None:
        self.counts.clear()
        signal.signal(signal.SIGPROF, self.sample)
        signal.setitimer(signal.ITIMER_PROF, INTERVAL, INTERVAL)

    def stop(self, signum=None, frame=None) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        with open(self.out, "w") as f:
            for stack, count in self.counts.most_common():
                f.write(f"{stack} {count}\n")


def main() -> None:
    out, script, *args = sys.argv[1:]
    sampler = Sampler(out)
    signal.signal(signal.SIGUSR1, sampler.start)
    signal.signal(signal.SIGUSR2, sampler.stop)
    sys.argv = [script, *args]
    sys.path[0] = "."
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
