"""Endurance: mixed load on Gunicorn gthread while another process churns the files.

    python bench/soak.py --seconds 600    (make soak)
    python bench/soak.py --seconds 20     (inside make test)

Passes when, over the run: no 5xx and no socket error under wrk, every 200 a
checking client receives matches its Content-Length, its ETag and the exact
bytes of the file version it claims, worker memory grows < 5% after warm-up,
and worker descriptors return to their baseline, also after hundreds of
clients drop the 10 MiB file mid-transfer. Everything runs on 127.0.0.1.

Files are churned the way deploys and editors do it: replaced by rename,
deleted and re-created, and (small files only) truncated and rewritten in
place. A large file truncated in place while the kernel sends it cannot be
served correctly by any server, so large files are only ever replaced.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import http.client
import json
import multiprocessing
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import procs  # noqa: E402

PREFIX = "/static/"
SMALL = [f"small-{i}.txt" for i in range(12)]
MID = [f"mid-{i}.js" for i in range(4)]
BIG = "big.bin"
SIZES = {
    **{n: 200 + i * 4000 for i, n in enumerate(SMALL)},
    **{n: 200_000 for n in MID},
    BIG: 10 * 2**20,
}

WRK_SCRIPT = r"""
local paths = {PATHS}
local headers = {HEADERS}
local counter = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) fivexx = 0 end
function request()
  counter = counter + 1
  local i = (counter % #paths) + 1
  return wrk.format("GET", paths[i], headers[i])
end
function response(status, hdrs, body)
  if status >= 500 then fivexx = fivexx + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("fivexx") end
  io.write(string.format("FIVEXX %d\n", total))
end
"""


def content(name: str, version: int) -> bytes:
    """The exact bytes of *name* at *version*: a first line naming both, then filler."""
    head = f"{name} v{version}\n".encode()
    size = SIZES[name]
    seed = hashlib.sha256(head).digest()
    filler = random.Random(seed).randbytes(max(0, size - len(head)))
    if name.endswith((".txt", ".js")):
        filler = filler.hex().encode()[: max(0, size - len(head))]
    return head + filler


def write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name("." + path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def populate(root: Path) -> None:
    for name in SMALL + MID + [BIG]:
        write_atomic(root / name, content(name, 0))
    for name in MID:
        write_atomic(root / (name + ".gz"), gzip.compress(content(name, 0), 6, mtime=0))


def churn(root: str, stop_at: float, seed: int, done: Any = None) -> None:
    """Runs in its own process: change files until *stop_at* (monotonic); counts in *done*."""
    rng = random.Random(seed)
    versions = {name: 0 for name in SMALL + MID + [BIG]}
    base = Path(root)
    while time.monotonic() < stop_at:
        name = rng.choice(SMALL * 4 + MID * 2 + [BIG])
        versions[name] += 1
        data = content(name, versions[name])
        action = rng.random()
        path = base / name
        if name in MID:
            write_atomic(base / (name + ".gz"), gzip.compress(data, 6, mtime=0))
        if action < 0.5 or (name == BIG and action < 0.8):
            write_atomic(path, data)
        elif action < 0.8 and name in SMALL:
            with open(path, "r+b") as handle:  # in place: truncate, then rewrite
                handle.truncate(0)
                handle.flush()
                handle.write(data)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            time.sleep(rng.random() * 0.05)
            write_atomic(path, data)
        if done is not None:
            with done.get_lock():
                done.value += 1
        time.sleep(rng.random() * (0.2 if name == BIG else 0.04))


class Checker(threading.Thread):
    """Fetches files and verifies every static 200 and 206 against the version it claims."""

    def __init__(self, port: int, stop_at: float):
        super().__init__(daemon=True)
        self.port = port
        self.stop_at = stop_at
        self.checked = 0
        self.problems: list[str] = []

    def verify(self, name: str, status: int, headers: dict, body: bytes) -> None:
        if status != 200 or headers.get("etag") is None:
            return  # no ETag: the application answered, the file was missing
        if len(body) != int(headers["content-length"]):
            self.problems.append(f"{name}: body {len(body)} != Content-Length")
            return
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        else:
            match = re.fullmatch(r'"[0-9a-f]+-([0-9a-f]+)"', headers["etag"])
            if match is None or int(match.group(1), 16) != len(body):
                self.problems.append(
                    f"{name}: ETag {headers['etag']} does not describe {len(body)} bytes"
                )
                return
        # Empty is a true snapshot of a file caught between truncate and rewrite.
        if body:
            version = re.match(rb"[^ ]+ v(\d+)\n", body)
            if version is None or body != content(name, int(version.group(1))):
                self.problems.append(f"{name}: the body is no version of the file")
                return
        self.checked += 1

    def run(self) -> None:
        rng = random.Random(1)
        while time.monotonic() < self.stop_at:
            name = rng.choice(SMALL * 3 + MID + [BIG])
            headers = {}
            if name in MID and rng.random() < 0.5:
                headers["Accept-Encoding"] = "gzip"
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("GET", PREFIX + name, headers=headers)
                response = conn.getresponse()
                body = response.read()
                conn.close()
            except (OSError, http.client.HTTPException) as exc:
                self.problems.append(f"{name}: {type(exc).__name__}: {exc}")
                continue
            if response.status >= 500:
                self.problems.append(f"{name}: status {response.status}")
                continue
            self.verify(
                name, response.status, {k.lower(): v for k, v in response.getheaders()}, body
            )


def worker_pids(master: int) -> list[int]:
    text = Path(f"/proc/{master}/task/{master}/children").read_text()
    return [int(pid) for pid in text.split()]


def rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/statm") as handle:
            total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return total


def fds(pids: list[int]) -> int:
    return sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in pids)


def disconnect_mid_transfer(port: int, count: int) -> None:
    """Clients that ask for the 10 MiB file, read a little, and reset the connection."""
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(f"GET {PREFIX}{BIG} HTTP/1.1\r\nHost: soak\r\n\r\n".encode())
            sock.recv(65536)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def wrk_requests() -> tuple[list[str], list[dict[str, str]]]:
    plan: list[tuple[str, dict[str, str]]] = []
    for name in SMALL:
        plan.append((PREFIX + name, {}))
        plan.append((PREFIX + name, {"If-None-Match": '"0-0"'}))
    for name in MID:
        plan.append((PREFIX + name, {"Accept-Encoding": "gzip, br"}))
        plan.append((PREFIX + name, {"Range": "bytes=100-5000"}))
    plan += [
        (PREFIX + BIG, {}),
        (PREFIX + BIG, {"Range": "bytes=1048576-2097151"}),
        (PREFIX + BIG, {"Range": "bytes=0-10,500-600"}),
        (PREFIX + "missing.txt", {}),
        ("/api/hello", {}),
        # malformed and hostile requests
        (PREFIX + "../etc/passwd", {}),
        (PREFIX + "%2e%2e/%2e%2e/etc/passwd", {}),
        (PREFIX + "small-1.txt%00.js", {}),
        (PREFIX + "%ff%fe", {}),
        (PREFIX + "..%5c..%5cwindows", {}),
        (PREFIX + "CON", {}),
        (PREFIX + "small-1.txt", {"Range": "bytes=abc"}),
        (PREFIX + "small-1.txt", {"Range": "bytes=" + ",".join(["0-0"] * 50)}),
        (PREFIX + "small-1.txt", {"If-None-Match": '"' * 200}),
        (PREFIX + "small-1.txt", {"If-Modified-Since": "not a date"}),
        (PREFIX + "small-1.txt", {"Accept-Encoding": "gzip;q=abc, *;q=0"}),
    ]
    return [p for p, _ in plan], [h for _, h in plan]


def lua_table(values) -> str:
    if isinstance(values, list) and values and isinstance(values[0], dict):
        items = []
        for headers in values:
            pairs = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
            items.append("{" + pairs + "}")
        return "{" + ", ".join(items) + "}"
    return "{" + ", ".join(json.dumps(v) for v in values) + "}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument(
        "--disconnects", type=int, default=None, help="default: 300, or 50 under a minute"
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("soak: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    disconnects = (
        args.disconnects if args.disconnects is not None else (300 if args.seconds >= 60 else 50)
    )
    work = Path(tempfile.mkdtemp(prefix="staticmw-soak-"))
    root = work / "static"
    root.mkdir()
    populate(root)
    port = procs.free_port()
    log = work / "gunicorn.log"
    # Keep-alive longer than the run: Gunicorn's default (2 s) closes a connection that wrk,
    # starved on a busy machine, left idle that long, and wrk counts the close as a read
    # error of the server's making.
    command = [
        sys.executable, "-m", "gunicorn", "--chdir", str(HERE), "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--worker-class", "gthread", "--threads", "4", "--log-level", "warning",
        "--keep-alive", str(int(args.seconds) + 60), "gunicorn_app:application",
    ]  # fmt: skip
    env = dict(os.environ, BENCH_PEER="staticmw", BENCH_ROOT=str(root))
    failures: list[str] = []
    too_little: list[str] = []
    server = procs.start(command, log, env)
    try:
        procs.wait_port(port, server, log)
        # Both workers, which start one after the other once the port is bound.
        deadline = time.monotonic() + 30
        while len(worker_pids(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = worker_pids(server.pid)
        if len(pids) != 2:
            raise RuntimeError(f"expected 2 gunicorn workers, found {len(pids)}")
        # Warm up: every file requested through every worker, then the baselines.
        for _ in range(20):
            for name in SMALL + MID + [BIG]:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", PREFIX + name)
                conn.getresponse().read()
                conn.close()
        time.sleep(0.5)
        fd_baseline = fds(pids)
        started = time.monotonic()
        stop_at = started + args.seconds
        context = multiprocessing.get_context("fork")
        changes = context.Value("i", 0)
        churner = context.Process(target=churn, args=(str(root), stop_at, 7, changes))
        churner.start()
        checker = Checker(port, stop_at)
        checker.start()
        paths, headers = wrk_requests()
        script = work / "soak.lua"
        script.write_text(
            WRK_SCRIPT.replace("{PATHS}", lua_table(paths)).replace("{HEADERS}", lua_table(headers))
        )
        wrk = subprocess.Popen(
            ["wrk", "-t2", "-c16", f"-d{int(args.seconds)}s", "--timeout", "20s", "-s", str(script),
             f"http://127.0.0.1:{port}/"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        warm_until = started + max(5.0, args.seconds * 0.25)
        time.sleep(max(0.0, warm_until - time.monotonic()))
        rss_warm = rss(pids)
        out, err = wrk.communicate(timeout=args.seconds + 120)
        rss_end = rss(pids)
        churner.join(30)
        checker.join(60)
        disconnect_mid_transfer(port, disconnects)
        # Let workers finish the aborted sends and close idle connections.
        settle = time.monotonic() + 15
        while time.monotonic() < settle and fds(pids) > fd_baseline:
            time.sleep(0.2)
        fd_end = fds(pids)
        fivexx = int(re.search(r"FIVEXX (\d+)", out).group(1)) if "FIVEXX" in out else -1
        errors = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
        )
        socket_errors = sum(map(int, errors.groups())) if errors else 0
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        growth = (rss_end - rss_warm) / rss_warm
        tracebacks = log.read_text().count("Traceback")
        summary = {
            "seconds": args.seconds,
            "wrk_requests": requests,
            "fivexx": fivexx,
            "socket_errors": socket_errors,
            "file_changes": changes.value,
            "checked_responses": checker.checked,
            "mismatches": len(checker.problems),
            "rss_warm_mib": round(rss_warm / 2**20, 1),
            "rss_end_mib": round(rss_end / 2**20, 1),
            "rss_growth_percent": round(growth * 100, 2),
            "fd_baseline": fd_baseline,
            "fd_end": fd_end,
            "disconnects": disconnects,
            "server_tracebacks": tracebacks,
        }
        print(json.dumps(summary, indent=2))
        if fivexx != 0:
            failures.append(f"{fivexx} responses with a 5xx status")
        if socket_errors:
            failures.append(f"wrk socket errors: {errors.group(0)}")
        if checker.problems:
            failures.append("mismatched bodies: " + "; ".join(checker.problems[:5]))
        # Counts reached within the run's time: on a machine busy with other work they may be
        # zero, which proves nothing either way; the run then says so instead of failing.
        if checker.checked == 0:
            too_little.append("the checking client verified nothing")
        if changes.value == 0:
            too_little.append("no file was changed during the run")
        if growth >= 0.05:
            failures.append(f"worker RSS grew {growth:.1%} after warm-up")
        if fd_end > fd_baseline:
            failures.append(f"descriptors {fd_end} > baseline {fd_baseline}")
        if tracebacks:
            failures.append(f"{tracebacks} tracebacks in the server log")
        if wrk.returncode != 0:
            failures.append(f"wrk exited {wrk.returncode}: {err}")
    finally:
        procs.stop(server)
        if not failures:
            shutil.rmtree(work, ignore_errors=True)
    code, lines = verdict(failures, too_little)
    for line in lines:
        print(line, file=sys.stderr if code else sys.stdout)
    if code:
        print(f"soak: logs kept in {work}", file=sys.stderr)
    return code


def verdict(failures: list[str], too_little: list[str]) -> tuple[int, list[str]]:
    """The exit status and what to print: a failure fails; a run that reached too little to
    prove anything (a busy machine) is skipped and says why; otherwise it passed."""
    if failures:
        return 1, [f"soak: FAIL: {failure}" for failure in failures]
    if too_little:
        return 0, [f"soak: skipped, ran too little to prove anything: {'; '.join(too_little)}"]
    return 0, ["soak: passed"]


if __name__ == "__main__":
    sys.exit(main())
