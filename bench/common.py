"""Helpers shared by the benchmarks: ports, processes, CPU pinning, RSS, percentiles, and the
Socket.IO client workers that play a whole class.

Client workers run in separate processes started with the ``spawn`` method; each one runs a few
hundred python-socketio asyncio clients on one event loop. Receive times are ``time.monotonic()`` readings, which on
Linux come from one system-wide clock and compare across processes.
"""
from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
NAMESPACE = "/panel"


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# The CPUs this run may use, read once at import: after ``pin(0, 1)`` this process's own
# affinity is one CPU, and asking it again would wrongly say the server cannot be pinned apart.
CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def two_cpus() -> bool:
    """True when processes may be pinned: CPU affinity exists and two CPUs are available."""
    return hasattr(os, "sched_setaffinity") and len(CPUS) >= 2


def pin(pid: int, cpu: int) -> None:
    """Pin a process (0 = this one) to the ``cpu``-th available CPU, where the platform allows it."""
    if two_cpus():
        os.sched_setaffinity(pid, {CPUS[cpu]})


def raise_open_files(needed: int) -> int:
    """Raise this process's limit of open files (inherited by the servers, nginx and the client
    workers it starts) towards ``needed``, as far as the hard limit allows; returns the limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    return soft


def start_server(argv: list[str], env: dict, log_path: Path, cpu: int = 0) -> subprocess.Popen:
    """Start a server process on the ``cpu``-th CPU with its output in ``log_path``."""
    log = open(log_path, "ab")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    pin(proc.pid, cpu % max(1, len(CPUS)))
    return proc


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout:.0f} s")


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate one process we started, by its own PID; kill it if it lingers."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def rss_kb(pid: int) -> int:
    """Resident set size of a process in kB, from /proc/<pid>/status (0 where unavailable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (e.g. nginx's workers), from /proc (none where unavailable)."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds a process has used, from /proc/<pid>/stat (0 where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used (0 where unavailable)."""
    return sum(cpu_times(pid))


def start_profiler(pid: int, profile: Path) -> subprocess.Popen:
    """Sample a server with py-spy (collapsed stacks, for flamegraph tools) until stopped.

    py-spy is not among the pinned requirements: ``.venv/bin/pip install py-spy`` first.
    """
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
         "--output", str(profile), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(spy: subprocess.Popen | None) -> None:
    """Stop py-spy (if running) so that it writes its output."""
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


# --------------------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def fanout_figures(sent: dict, received: list[dict], clients: int) -> dict:
    """Latency of each event (emit → last client received it) and the deliveries missing.

    ``sent`` maps event id → monotonic emit time; ``received`` holds one dict per client
    mapping event id → monotonic receive time.
    """
    latencies, lost = [], 0
    for event_id, t0 in sent.items():
        times = [r[event_id] for r in received if event_id in r]
        lost += clients - len(times)
        if times:
            latencies.append((max(times) - t0) * 1000.0)
    return {
        "lost": lost,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
    }


def say(*parts) -> None:
    """Progress on stderr, so stdout's last line stays the JSON result."""
    print(*parts, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- client workers


def split(total: int, per_worker: int) -> list[int]:
    """Divide ``total`` clients into worker shares of at most ``per_worker``."""
    workers = max(1, math.ceil(total / per_worker))
    base, extra = divmod(total, workers)
    return [base + (1 if i < extra else 0) for i in range(workers)]


def client_worker(spec: dict, conn) -> None:
    """Worker process: connect ``spec['cookies']`` clients at the start time it is sent, join the room,
    record when each got the snapshot and every queued question, report over ``conn``, and
    disconnect when told to stop.

    Runs in a freshly spawned process with python-socketio's asyncio client over aiohttp's
    websocket: measured against the bare server, one core joins 1,000 such clients in about
    3 s of CPU, where the threaded client under gevent needed 5.5 s, which made the clients,
    not the server, the thing measured.
    """
    import asyncio

    if spec.get("cpu") is not None:
        pin(0, spec["cpu"])
    asyncio.run(_client_worker(spec, conn))


def light_client_class():
    """python-socketio's asyncio client, made cheaper to run by the thousand on one core.

    With 1,000 clients on one core the clients, not the server, were near saturation (77% of
    the core while events arrived). Two of their costs are the measuring client's own: a new
    task per received message (handlers here only note a time, so they run in the read loop)
    and decoding JSON with the standard library (orjson does it in about a third of the time).
    """
    import aiohttp
    import engineio
    import orjson
    import socketio

    class InlineEngineIO(engineio.AsyncClient):
        async def _trigger_event(self, event, *args, **kwargs):
            kwargs["run_async"] = False
            return await super()._trigger_event(event, *args, **kwargs)

        async def _write_loop(self):
            """Send queued packets over the websocket, waiting for them as long as it takes.

            python-engineio's own loop gives up when nothing was queued for pingInterval + 5 s,
            and its socket can then never answer a ping: with thousands of sockets opening at
            once the server's first ping comes later than that, and the client dropped out of
            the room. A browser has no such limit: like it, this client calls the server gone
            only when the read loop hears nothing for pingInterval + pingTimeout.
            """
            while self.state == "connected":
                packets = [await self.queue.get()]
                while packets[-1] is not None:
                    try:
                        packets.append(self.queue.get_nowait())
                    except self.queue_empty:
                        break
                closing = packets[-1] is None
                try:
                    for pkt in packets[:-1] if closing else packets:
                        await (self.ws.send_bytes(pkt.encode()) if pkt.binary else self.ws.send_str(pkt.encode()))
                except (aiohttp.client_exceptions.ServerDisconnectedError, BrokenPipeError, OSError):
                    closing = True
                for _ in packets:
                    self.queue.task_done()
                if closing:
                    break
            self.write_loop_task = None

    class OrJSON:
        loads = staticmethod(orjson.loads)

        @staticmethod
        def dumps(obj, **kwargs):
            return orjson.dumps(obj).decode()

    class LightClient(socketio.AsyncClient):
        def __init__(self, **kwargs):
            super().__init__(json=OrJSON, **kwargs)

        def _engineio_client_class(self):
            return InlineEngineIO

    return LightClient


async def _client_worker(spec: dict, conn) -> None:
    """The body of :func:`client_worker`, on one asyncio loop."""
    import asyncio

    client_class = light_client_class()

    url, room_id, cookies = spec["url"], spec["room_id"], spec["cookies"]
    joined: list[float | None] = [None] * len(cookies)
    refused = [False] * len(cookies)
    received: list[dict] = [{} for _ in cookies]
    errors: list[str] = []
    clients: list = []

    async def run_one(i: int, cookie: str) -> None:
        if spec.get("ramp"):
            # Clients of all workers take turns: this worker's i-th is the class's (i·W + w)-th.
            await asyncio.sleep((i * spec["workers"] + spec["worker"]) / spec["ramp"])
        sio = client_class(reconnection=False, request_timeout=spec["timeout"])
        clients.append(sio)

        @sio.on("snapshot", namespace=NAMESPACE)
        async def on_snapshot(data):
            if joined[i] is None:
                joined[i] = time.monotonic()

        @sio.on("question", namespace=NAMESPACE)
        async def on_question(data):
            question = data.get("question") or {}
            if question.get("state") == "queued" and question.get("id") not in received[i]:
                received[i][question.get("id")] = time.monotonic()

        try:
            # The room is joined in the connect request, as the browser joins it.
            await sio.connect(
                url,
                headers={"Cookie": cookie} if cookie else {},
                auth={"room_id": room_id},
                transports=["websocket"],
                namespaces=[NAMESPACE],
                wait_timeout=spec["timeout"],
            )
        except Exception as exc:  # reported, counted as not joined
            errors.append(f"{type(exc).__name__}: {exc}")
            refused[i] = True

    # Imports are done: say so, and start at the moment the main process names for everyone.
    conn.send({"kind": "ready"})
    start_at = conn.recv()
    cpu_at_start = time.process_time()
    delay = start_at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    # One bound for connecting and joining together, so the report arrives within it even when
    # some clients never get their snapshot.
    deadline = time.monotonic() + spec["timeout"]
    try:
        await asyncio.wait_for(asyncio.gather(*(run_one(i, c) for i, c in enumerate(cookies))),
                               spec["timeout"])
    except asyncio.TimeoutError:
        errors.append("connecting took longer than the timeout")
    # A client whose connect failed gets no snapshot: wait only for the others.
    while any(t is None and not r for t, r in zip(joined, refused)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    cpu_at_join = time.process_time()
    conn.send({"kind": "joined", "joined": joined, "errors": errors[:5], "error_count": len(errors),
               "join_cpu_s": cpu_at_join - cpu_at_start})

    # Wait (bounded) for the main process to say the events are over.
    limit = time.monotonic() + spec["max_run_s"]
    while not conn.poll() and time.monotonic() < limit:
        await asyncio.sleep(0.05)
    # The clients' own CPU time while events arrive: near a whole core, they are the bottleneck.
    conn.send({"kind": "received", "received": received, "cpu_s": time.process_time() - cpu_at_join})
    await asyncio.gather(*(sio.disconnect() for sio in clients), return_exceptions=True)
    conn.close()


def start_workers(url: str | list[str], room_id: int, cookies: list[str], per_worker: int, timeout: float,
                  max_run_s: float, start_delay: float = 0.3, cpu: int | None = 1, ramp: float = 0):
    """Spawn client workers sharing ``cookies``, wait until each has imported its libraries, and
    tell them all one start time; returns (processes, pipes, start time). With several URLs the
    workers take them in turn; they are pinned to the ``cpu``-th CPU (None: not pinned). With
    ``ramp`` (clients a second) the class connects at that rate from the start time, else all
    at once."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    urls = [url] if isinstance(url, str) else list(url)
    procs, pipes, offset = [], [], 0
    shares = split(len(cookies), per_worker)
    for index, share in enumerate(shares):
        spec = {
            "worker": index,
            "workers": len(shares),
            "ramp": ramp,
            "url": urls[index % len(urls)],
            "room_id": room_id,
            "cookies": cookies[offset:offset + share],
            "timeout": timeout,
            "max_run_s": max_run_s,
            "cpu": cpu,
        }
        offset += share
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=client_worker, args=(spec, theirs), daemon=True)
        proc.start()
        theirs.close()
        procs.append(proc)
        pipes.append(ours)
    ready = collect(pipes, 120)
    if len(ready) != len(pipes):
        end_workers(procs, timeout=1)
        raise RuntimeError(f"only {len(ready)} of {len(pipes)} client workers started")
    start_at = time.monotonic() + start_delay
    for conn in pipes:
        conn.send(start_at)
    return procs, pipes, start_at


def collect(pipes, timeout: float) -> list[dict]:
    """The next report from every worker, waiting at most ``timeout`` in all."""
    from multiprocessing.connection import wait

    reports, waiting, deadline = [], list(pipes), time.monotonic() + timeout
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for conn in wait(waiting, timeout=left):
            waiting.remove(conn)
            try:
                reports.append(conn.recv())
            except EOFError:
                pass
    return reports


def tell_stop(pipes) -> None:
    """Ask every worker to report what it received and disconnect."""
    for conn in pipes:
        try:
            conn.send("stop")
        except OSError:
            pass


def end_workers(procs, timeout: float = 15.0) -> None:
    """Join the worker processes; terminate any that do not finish in time (by their own PID)."""
    deadline = time.monotonic() + timeout
    for proc in procs:
        proc.join(max(0.1, deadline - time.monotonic()))
        if proc.is_alive():
            proc.terminate()
            proc.join(5)


def dump(obj) -> str:
    """One compact JSON line."""
    return json.dumps(obj, separators=(", ", ": "))
