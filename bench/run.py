"""Benchmark staticmw against its peers, all in one run, reported as ratios.

    python bench/run.py            full run (make bench)
    python bench/run.py --quick    under three minutes (make bench-quick)
    python bench/run.py --smoke    seconds: only proves the harness works (make test)

Four parts: in-process (microseconds per WSGI call, body consumed, close() called),
lookups (staticmw's own file-system work: uncached misses and first requests),
startup (construction time and memory over large trees, in fresh processes), and
served (Gunicorn on 127.0.0.1 loaded by wrk, with nginx as the hardware reference).
Absolute numbers drift on shared machines; ratios within one run do not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import gzip
import http.client
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from wsgiref.util import FileWrapper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import baseline  # noqa: E402
import deltas  # noqa: E402
import deploys  # noqa: E402
import djangobench  # noqa: E402
import hints  # noqa: E402
import pageload  # noqa: E402
import peers  # noqa: E402
import procs  # noqa: E402

WORK = HERE / "work"
RESULTS = HERE / "results"
BIG = 10 * 1024 * 1024
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
)

# name -> (path, request headers)
WORKLOADS = {
    "1 KB (200)": ("/static/small.txt", {}),
    "304 (If-None-Match)": ("/static/small.txt", {"If-None-Match": "<etag>"}),
    "100 KB JS, gzip/br": ("/static/app.js", {"Accept-Encoding": "gzip, br"}),
    "10 MiB (200)": ("/static/big.bin", {}),
    "1 MiB range (206)": ("/static/big.bin", {"Range": "bytes=1048576-2097151"}),
    "miss under prefix": ("/static/missing.txt", {}),
    "pass-through": ("/api/hello", {}),
}


# -- fixtures ------------------------------------------------------------------------


def make_site(root: Path) -> Path:
    """The served directory: a 1 KB file, 100 KB of JS with variants, a 10 MiB file."""
    if (root / "ready").exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    (root / "small.txt").write_bytes(os.urandom(512).hex().encode())
    js = b"".join(
        b"export const value%d = %d; // padding for a realistic size\n" % (i, i)
        for i in range(1800)
    )
    (root / "app.js").write_bytes(js[: 100 * 1024])
    (root / "app.js.gz").write_bytes(gzip.compress(js[: 100 * 1024], 9, mtime=0))
    with contextlib.suppress(ImportError):
        import brotli

        (root / "app.js.br").write_bytes(brotli.compress(js[: 100 * 1024], quality=11))
    (root / "big.bin").write_bytes(os.urandom(BIG))
    (root / "ready").write_bytes(b"")
    for path in [root, *root.iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return root


def make_tree(count: int) -> Path:
    """A tree of *count* small files, 100 to a directory, made once and reused."""
    root = WORK / f"tree-{count}"
    if (root / ".ready").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    for d in range(count // 100):
        directory = root / f"d{d:04d}"
        directory.mkdir(parents=True)
        for f in range(100):
            (directory / f"f{f:03d}.css").write_bytes(b"a{color:red}\n")
    (root / ".ready").write_bytes(b"")
    return root


# -- in-process ----------------------------------------------------------------------


def _start_response(status, headers, exc_info=None):
    return None


def _environ(path: str, headers: dict[str, str]) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.file_wrapper": FileWrapper,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _call(app, environ: dict) -> tuple[str, dict, int]:
    seen = []
    body = app(dict(environ), lambda s, h, e=None: seen.append((s, dict(h))))
    size = 0
    for chunk in body:
        size += len(chunk)
    close = getattr(body, "close", None)
    if close is not None:
        close()
    return seen[0][0], seen[0][1], size


def _timed(app, environ: dict, calls: int) -> float:
    """Microseconds per call: a fresh environ each time, body consumed, close() called."""
    copy = environ.copy
    start_response = _start_response
    started = time.perf_counter()
    for _ in range(calls):
        body = app(copy(), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (time.perf_counter() - started) / calls * 1e6


def _etag(app, path: str) -> str | None:
    status, headers, _ = _call(app, _environ(path, {}))
    return headers.get("ETag") if status.startswith("200") else None


def in_process(site: Path, names: list[str], rounds: int, scale: float) -> dict:
    """Median microseconds per call, peers interleaved within each round."""
    apps = {name: peers.build(name, str(site)) for name in names}
    results: dict[str, dict[str, float | None]] = {name: {} for name in names}
    for workload, (path, headers) in WORKLOADS.items():
        big = "10 MiB" in workload
        # The pass-through cost is small next to timer noise: many more calls.
        base = 20 if big else 30000 if workload == "pass-through" else 3000
        calls = max(3, int(base * scale))
        environs = {}
        for name, app in apps.items():
            wanted = dict(headers)
            if wanted.get("If-None-Match") == "<etag>":
                etag = _etag(app, path)
                if etag is None or name == "bare":
                    results[name][workload] = None
                    continue
                wanted["If-None-Match"] = etag
            environs[name] = _environ(path, wanted)
        samples: dict[str, list[float]] = {name: [] for name in environs}
        for _ in range(rounds):
            for name, environ in environs.items():
                _call(apps[name], environ)  # warm
                samples[name].append(_timed(apps[name], environ, calls))
        for name, values in samples.items():
            results[name][workload] = statistics.median(values)
    return results


_ASGI_NAMES = ("1 KB (200)", "304 (If-None-Match)", "100 KB JS, gzip/br", "miss under prefix")
ASGI_WORKLOADS = {name: WORKLOADS[name] for name in (*_ASGI_NAMES, "pass-through")}


def _scope(path: str, headers: dict[str, str]) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip


async def _asgi_once(app, scope: dict) -> tuple[int, dict, int]:
    """One call as a server makes it; receive blocks after the (empty) body, as the spec says."""
    first = [True]
    sent: list[dict] = []

    async def receive():
        if first[0]:
            first[0] = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    await app(dict(scope), receive, send)
    headers = {k.decode().lower(): v.decode() for k, v in sent[0].get("headers", [])}
    return sent[0]["status"], headers, sum(len(m.get("body", b"")) for m in sent[1:])


def in_process_asgi(site: Path, names: list[str], rounds: int, scale: float) -> dict:
    """Median µs per ASGI call (one event loop, calls awaited one after another)."""

    async def measure() -> dict:
        apps = {name: peers.build_asgi(name, str(site)) for name in names}
        results: dict[str, dict[str, float | None]] = {name: {} for name in names}
        for workload, (path, headers) in ASGI_WORKLOADS.items():
            calls = max(3, int((30000 if workload == "pass-through" else 3000) * scale))
            scopes = {}
            for name, app in apps.items():
                wanted = dict(headers)
                if wanted.get("If-None-Match") == "<etag>":
                    status, got, _ = await _asgi_once(app, _scope(path, {}))
                    if status != 200 or "etag" not in got:
                        results[name][workload] = None
                        continue
                    wanted["If-None-Match"] = got["etag"]
                scopes[name] = _scope(path, wanted)
            samples: dict[str, list[float]] = {name: [] for name in scopes}
            for _ in range(rounds):
                for name, scope in scopes.items():
                    await _asgi_once(apps[name], scope)  # warm
                    started = time.perf_counter()
                    for _ in range(calls):
                        await _asgi_once(apps[name], scope)
                    samples[name].append((time.perf_counter() - started) / calls * 1e6)
            for name, values in samples.items():
                results[name][workload] = statistics.median(values)
        return results

    return asyncio.run(measure())


def lookups(site: Path, tree: Path, rounds: int, scale: float) -> dict[str, float]:
    """staticmw's own file-system work, which its memory cache normally hides.

    A miss looked up every time (recheck_interval=0), the first request for a
    file (a fresh middleware, each file asked for once), a file asked for again after
    the ``cache_entries`` bound evicted it, and the first request for a file with .gz and
    .br variants beside it. Median µs per call over the rounds.
    """
    from staticmw import StaticMiddleware

    files = sorted(
        f"/static/{d.name}/{f.name}" for d in tree.iterdir() if d.is_dir() for f in d.iterdir()
    )[: max(20, int(2000 * scale))]
    fresh_count = max(20, int(300 * scale))
    samples: dict[str, list[float]] = {"miss, uncached": [], "first request": []}
    samples["evicted, asked again"] = []
    samples["first request, 2 variants"] = []
    for _ in range(rounds):
        app = StaticMiddleware(peers.tiny_app, str(site), peers.PREFIX, recheck_interval=0)
        environ = _environ("/static/missing.txt", {})
        samples["miss, uncached"].append(_timed(app, environ, max(20, int(3000 * scale))))
        app = StaticMiddleware(peers.tiny_app, str(tree), peers.PREFIX)
        environs = [_environ(path, {}) for path in files]
        started = time.perf_counter()
        for environ in environs:
            _consume(app(environ, _start_response))
        samples["first request"].append((time.perf_counter() - started) / len(files) * 1e6)
        # Half the bound: the first half of the files is evicted by the second, unasked.
        half = len(files) // 2
        app = StaticMiddleware(peers.tiny_app, str(tree), peers.PREFIX, cache_entries=half)
        for environ in environs:
            _consume(app(environ, _start_response))
        started = time.perf_counter()
        for environ in environs[:half]:
            _consume(app(environ, _start_response))
        samples["evicted, asked again"].append((time.perf_counter() - started) / half * 1e6)
        apps = [
            StaticMiddleware(peers.tiny_app, str(site), peers.PREFIX) for _ in range(fresh_count)
        ]
        environs = [_environ("/static/app.js", {"Accept-Encoding": "br"}) for _ in apps]
        started = time.perf_counter()
        for one, environ in zip(apps, environs, strict=True):
            _consume(one(environ, _start_response))
        samples["first request, 2 variants"].append(
            (time.perf_counter() - started) / fresh_count * 1e6
        )
    return {name: statistics.median(values) for name, values in samples.items()}


def _consume(body) -> None:
    for _chunk in body:
        pass
    close = getattr(body, "close", None)
    if close is not None:
        close()


# -- startup -------------------------------------------------------------------------

_STARTUP_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    sys.path.insert(0, sys.argv[1])
    import peers
    def rss():
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    name, root, serve_all = sys.argv[2], sys.argv[3], sys.argv[4] == "1"
    # Import and construct once over an empty directory, so what follows
    # measures the tree, not the import of the library.
    import tempfile
    peers.build(name, tempfile.mkdtemp())
    before = rss()
    started = time.perf_counter()
    app = peers.build(name, root)
    seconds = time.perf_counter() - started
    after = rss()
    result = {"seconds": seconds, "rss_growth": after - before}
    if serve_all:
        def start_response(status, headers, exc_info=None):
            pass
        for directory in sorted(os.listdir(root)):
            if directory.startswith("."):
                continue
            for name_ in os.listdir(os.path.join(root, directory)):
                environ = {"REQUEST_METHOD": "GET", "QUERY_STRING": "", "wsgi.url_scheme": "http",
                           "SERVER_PROTOCOL": "HTTP/1.1"}
                environ["PATH_INFO"] = f"/static/{directory}/{name_}"
                body = app(environ, start_response)
                for _ in body:
                    pass
                getattr(body, "close", lambda: None)()
        result["rss_after_all"] = rss() - before
    print(json.dumps(result))
    """
)


def startup(names: list[str], counts: list[int], serve_all: bool) -> dict:
    results: dict[str, dict[str, dict]] = {}
    for count in counts:
        tree = make_tree(count)
        for name in names:
            command = [sys.executable, "-c", _STARTUP_SCRIPT, str(HERE), name, str(tree)]
            command.append("1" if serve_all else "0")
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=1800, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"startup of {name} failed:\n{done.stderr}")
            results.setdefault(name, {})[str(count)] = json.loads(done.stdout)
    return results


# -- served --------------------------------------------------------------------------


@contextlib.contextmanager
def _python_server(command: list[str], log: Path, peer: str, site: Path):
    """Run a server of the peer named in BENCH_PEER on its port; stop it afterwards."""
    port = procs.free_port()
    command = [part.replace("{here}", str(HERE)).replace("{port}", str(port)) for part in command]
    process = procs.start(command, log, dict(os.environ, BENCH_PEER=peer, BENCH_ROOT=str(site)))
    try:
        procs.wait_port(port, process, log)
        yield port
    finally:
        procs.stop(process)


# Granian's WSGI settings that matter on two cores (`make bench` sweeps them first for
# the 1 KB file and records the outcome); the best is used for every peer.
GRANIAN_SETTINGS = {
    "2 workers, 1 blocking thread": ["--workers", "2", "--blocking-threads", "1"],
    "2 workers, 2 blocking threads": ["--workers", "2", "--blocking-threads", "2"],
    "1 worker, 2 runtime threads": ["--workers", "1", "--runtime-threads", "2"],
}
GRANIAN_CHOSEN = ["--workers", "2", "--blocking-threads", "1"]


def granian_sweep(site: Path, seconds: float, repeats: int) -> dict:
    """1 KB req/s of the bare app and staticmw under each Granian setting; keeps the best."""
    rates: dict[str, dict[str, float]] = {}
    path, headers = WORKLOADS["1 KB (200)"]
    for label, settings in GRANIAN_SETTINGS.items():
        GRANIAN_CHOSEN[:] = settings
        for peer in ("bare", "staticmw"):
            with wsgi_server(peer, site, "granian") as port:
                runs = [wrk(port, path, headers, seconds, 8)["rps"] for _ in range(repeats)]
            rates.setdefault(label, {})[peer] = statistics.median(runs)
    best = max(rates, key=lambda label: rates[label]["staticmw"])
    GRANIAN_CHOSEN[:] = GRANIAN_SETTINGS[best]
    return {"rates": rates, "chosen": best, "arguments": GRANIAN_SETTINGS[best]}


def wsgi_server(peer: str, site: Path, worker: str) -> contextlib.AbstractContextManager[int]:
    """A WSGI server running a peer: Gunicorn sync or gthread, or Granian ("granian")."""
    if worker == "granian":
        command = [
            sys.executable, "-m", "granian", "--interface", "wsgi", "--working-dir", "{here}",
            "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning",
            *GRANIAN_CHOSEN, "gunicorn_app:application",
        ]  # fmt: skip
        return _python_server(command, WORK / f"granian-wsgi-{peer}.log", peer, site)
    command = [
        sys.executable, "-m", "gunicorn", "--chdir", "{here}", "--bind", "127.0.0.1:{port}",
        "--workers", "2", "--log-level", "warning", "--backlog", "2048",
    ]  # fmt: skip
    if worker == "gthread":
        command += ["--worker-class", "gthread", "--threads", "4"]
    command.append("gunicorn_app:application")
    return _python_server(command, WORK / f"gunicorn-{peer}-{worker}.log", peer, site)


ASGI_SERVER_COMMANDS = {
    "uvicorn": [
        "uvicorn", "--app-dir", "{here}", "--host", "127.0.0.1", "--port", "{port}",
        "--workers", "1", "--no-access-log", "--log-level", "warning", "asgi_app:application",
    ],
    "granian": [
        "granian", "--interface", "asgi", "--working-dir", "{here}", "--host", "127.0.0.1",
        "--port", "{port}", "--workers", "1", "--log-level", "warning", "asgi_app:application",
    ],
}  # fmt: skip


def asgi_server(peer: str, site: Path, server: str) -> contextlib.AbstractContextManager[int]:
    """An ASGI server (one worker) running a peer from peers.build_asgi."""
    command = [sys.executable, "-m", *ASGI_SERVER_COMMANDS[server]]
    return _python_server(command, WORK / f"{server}-{peer}.log", peer, site)


def served_asgi(
    site: Path, names: list[str], servers: list[str], seconds: float, repeats: int
) -> dict:
    """req/s and MiB/s of ASGI peers under each ASGI server, wrk as for Gunicorn."""
    results: dict[str, dict[str, dict]] = {}
    for server in servers:
        for name in names:
            with asgi_server(name, site, server) as port:
                results[f"{name} ({server})"] = measure(port, seconds, repeats)
    return results


# The rows the ASGI middleware is held to against the app that sends its exact answer.
PAIRED_WORKLOADS = ("1 KB (200)", "304 (If-None-Match)")


def paired_asgi(site: Path, servers: list[str], seconds: float, rounds: int) -> dict:
    """staticmw-asgi against bare-asgi (the same start message and body, from a dict) under
    each server, both running: each round loads one then the other (alternating which goes
    first), so load from outside falls on both. The per-round ratios' median, and µs per
    request from each median rate."""
    results: dict[str, dict] = {}
    for server in servers:
        with contextlib.ExitStack() as stack:
            ports = {
                name: stack.enter_context(asgi_server(name, site, server))
                for name in ("bare-asgi", "staticmw-asgi")
            }
            for workload in PAIRED_WORKLOADS:
                path, headers = WORKLOADS[workload]
                wanted = {name: dict(headers) for name in ports}
                for name, port in ports.items():
                    if wanted[name].get("If-None-Match") == "<etag>":
                        wanted[name]["If-None-Match"] = _etag_over_http(port, path)
                    wrk(port, path, wanted[name], 1, 8)  # warm
                answers = {
                    name: _answer_over_http(port, path, wanted[name])
                    for name, port in ports.items()
                }
                if answers["bare-asgi"] != answers["staticmw-asgi"]:
                    raise RuntimeError(
                        f"the control app does not send staticmw's answer for {workload} "
                        f"under {server}: {answers}"
                    )
                rates: dict[str, list[float]] = {name: [] for name in ports}
                for round_ in range(rounds):
                    order = list(ports) if round_ % 2 == 0 else list(ports)[::-1]
                    for name in order:
                        rates[name].append(wrk(ports[name], path, wanted[name], seconds, 8)["rps"])
                ratios = [
                    mine / theirs
                    for mine, theirs in zip(rates["staticmw-asgi"], rates["bare-asgi"], strict=True)
                ]
                medians = {name: statistics.median(values) for name, values in rates.items()}
                results.setdefault(server, {})[workload] = {
                    "ratio": statistics.median(ratios),
                    "ratios": ratios,
                    "rps": medians,
                    "us_per_request": {name: 1e6 / rate for name, rate in medians.items()},
                    "added_us": 1e6 / medians["staticmw-asgi"] - 1e6 / medians["bare-asgi"],
                }
    return results


@contextlib.contextmanager
def nginx(site: Path):
    port = procs.free_port()
    prefix = Path(tempfile.mkdtemp(prefix="staticmw-nginx-"))
    (prefix / "logs").mkdir()
    user = "user root;" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        textwrap.dedent(
            f"""
            {user}
            worker_processes 2;
            pid {prefix}/nginx.pid;
            error_log {prefix}/logs/error.log warn;
            events {{ worker_connections 1024; }}
            http {{
                access_log off;
                sendfile on;
                tcp_nopush on;
                keepalive_requests 100000;
                default_type application/octet-stream;
                client_body_temp_path {prefix}/body;
                proxy_temp_path {prefix}/proxy;
                fastcgi_temp_path {prefix}/fastcgi;
                uwsgi_temp_path {prefix}/uwsgi;
                scgi_temp_path {prefix}/scgi;
                server {{
                    listen 127.0.0.1:{port};
                    location /static/ {{ alias {site}/; gzip_static on; }}
                    location / {{ return 200 "hello from the app\\n"; }}
                }}
            }}
            """
        )
    )
    log = prefix / "logs" / "stderr.log"
    process = procs.start([NGINX, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"], log)
    try:
        procs.wait_port(port, process, log)
        yield port
    finally:
        procs.stop(process, signal.SIGQUIT)
        shutil.rmtree(prefix, ignore_errors=True)


_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def wrk(port: int, path: str, headers: dict[str, str], seconds: float, connections: int) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr}")
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    amount, unit = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out).groups()
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "mbps": float(amount) * _UNITS[unit] / 1024**2,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
        "non_2xx_3xx": int(non2xx.group(1)) if non2xx else 0,
    }


def _answer_over_http(port: int, path: str, headers: dict[str, str]) -> tuple:
    """Status, headers (less Date) and body of one request: what a client receives."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    fields = sorted((k.lower(), v) for k, v in response.getheaders() if k.lower() != "date")
    return response.status, fields, body


def _etag_over_http(port: int, path: str) -> str:
    _, fields, _ = _answer_over_http(port, path, {})
    return dict(fields).get("etag") or '"none"'


def measure(port: int, seconds: float, repeats: int) -> dict[str, dict]:
    """Every workload against one running server: medians of *repeats* wrk runs."""
    results: dict[str, dict] = {}
    for workload, (path, headers) in WORKLOADS.items():
        wanted = dict(headers)
        if wanted.get("If-None-Match") == "<etag>":
            wanted["If-None-Match"] = _etag_over_http(port, path)
        runs = [wrk(port, path, wanted, seconds, 8) for _ in range(repeats)]
        results[workload] = {
            "rps": statistics.median(r["rps"] for r in runs),
            "mbps": statistics.median(r["mbps"] for r in runs),
            "socket_errors": sum(r["socket_errors"] for r in runs),
            "non_2xx_3xx": sum(r["non_2xx_3xx"] for r in runs),
        }
    return results


def served(site: Path, names: list[str], workers: list[str], seconds: float, repeats: int,
           with_nginx: bool) -> dict:  # fmt: skip
    results: dict[str, dict[str, dict]] = {}
    for worker in workers:
        for name in names:
            with wsgi_server(name, site, worker) as port:
                results[f"{name} ({worker})"] = measure(port, seconds, repeats)
    if with_nginx:
        with nginx(site) as port:
            results["nginx"] = measure(port, seconds, repeats)
    return results


# -- report --------------------------------------------------------------------------


def _ratio(value, reference) -> str:
    if value is None or not reference:
        return "—"
    return f"{value / reference:.2f}×"


def _in_process_table(title: str, results: dict | None, workloads, reference: str) -> list[str]:
    """µs per call for every peer and workload, each as a ratio to *reference*."""
    if not results:
        return []
    lines = [title, "", "| workload | " + " | ".join(results) + " |"]
    lines.append("|" + "---|" * (len(results) + 1))
    for workload in workloads:
        base = results.get(reference, {}).get(workload)
        cells = []
        for name in results:
            value = results[name].get(workload)
            cells.append("—" if value is None else f"{value:.2f} ({_ratio(value, base)})")
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def report(data: dict) -> str:
    lines = [f"Run {data['date']} on {data['machine']}; ratios are within this run.", ""]
    lines += _in_process_table(
        "### In-process: µs per WSGI call (lower is better), and as a multiple of WhiteNoise's",
        data.get("in_process"),
        WORKLOADS,
        "whitenoise",
    )
    lines += _in_process_table(
        "### In-process ASGI: µs per call (lower is better), and as a multiple of "
        "ServeStatic's ASGI middleware",
        data.get("in_process_asgi"),
        ASGI_WORKLOADS,
        "servestatic-asgi",
    )
    found = data.get("lookups")
    if found:
        lines += [
            "### Lookups: staticmw's file-system work, µs per call (lower is better)",
            "",
            "| workload | µs |",
            "|---|---|",
        ]
        lines += [f"| {name} | {value:.2f} |" for name, value in found.items()]
        lines.append("")
    start = data.get("startup")
    if start:
        lines += [
            "### Startup (a fresh process per peer; staticmw remembers at most "
            "`cache_entries`, 50,000 files by default)",
            "",
            "| peer | files | construct (ms) | RSS growth (MiB) | RSS after serving all (MiB) |",
            "|---|---|---|---|---|",
        ]
        for name, by_count in start.items():
            for count, values in by_count.items():
                theirs = start.get("whitenoise", {}).get(count, {})
                construct = values["seconds"] * 1000
                growth = values["rss_growth"] / 2**20
                after = values.get("rss_after_all")
                served_all = "—"
                if after is not None:
                    served_all = (
                        f"{after / 2**20:.1f} ({_ratio(after, theirs.get('rss_after_all'))})"
                    )
                construct_ratio = _ratio(values["seconds"], theirs.get("seconds"))
                lines.append(
                    f"| {name} | {count} | {construct:.1f} ({construct_ratio}) | {growth:.1f} | "
                    f"{served_all} |"
                )
        lines.append("")
    serv = data.get("served")
    if serv:
        lines += [
            "### Under Gunicorn, loaded by wrk: req/s (MiB/s for the 10 MiB and range rows; "
            "higher is better), and as multiples of WhiteNoise's (same worker class) and nginx's",
            "",
        ]
        labels = list(serv)
        lines += ["| workload | " + " | ".join(labels) + " |", "|" + "---|" * (len(labels) + 1)]
        for workload in WORKLOADS:
            key = "mbps" if "MiB" in workload else "rps"
            unit = " MiB/s" if key == "mbps" else ""
            nginx_value = serv.get("nginx", {}).get(workload, {}).get(key)
            cells = []
            for label in labels:
                values = serv[label].get(workload)
                if values is None:
                    cells.append("—")
                    continue
                worker = label.rpartition("(")[2].rstrip(")") if "(" in label else ""
                wn = serv.get(f"whitenoise ({worker})", {}).get(workload, {}).get(key)
                ratios = [f"{_ratio(values[key], wn)} WN"] if wn else []
                if nginx_value:
                    ratios.append(f"{_ratio(values[key], nginx_value)} nginx")
                cells.append(f"{values[key]:.0f}{unit} ({', '.join(ratios)})")
            lines.append(f"| {workload} | " + " | ".join(cells) + " |")
        lines.append("")
    served_asgi_data = data.get("served_asgi")
    if served_asgi_data:
        lines += [
            "### Under ASGI servers (one worker), loaded by wrk: req/s (MiB/s for the 10 MiB and "
            "range rows), and as multiples of ServeStatic's ASGI middleware under the same server",
            "",
            "| workload | " + " | ".join(served_asgi_data) + " |",
            "|" + "---|" * (len(served_asgi_data) + 1),
        ]
        for workload in WORKLOADS:
            key = "mbps" if workload in ("10 MiB (200)", "1 MiB range (206)") else "rps"
            unit = " MiB/s" if key == "mbps" else ""
            cells = []
            for label, values in served_asgi_data.items():
                server = label.rpartition("(")[2].rstrip(")")
                ref = served_asgi_data.get(f"servestatic-asgi ({server})", {}).get(workload, {})
                value = values[workload][key]
                cells.append(f"{value:.0f}{unit} ({_ratio(value, ref.get(key))} SS)")
            lines.append(f"| {workload} | " + " | ".join(cells) + " |")
        lines.append("")
    paired = data.get("paired_asgi")
    if paired:
        lines += [
            "### ASGI against an app that sends the same answer from a dict (the same start "
            "message and body, nothing else): µs per request, and the median of paired "
            "per-round ratios (higher is better; 1.00× is free)",
            "",
            "| server | workload | same-answer app µs | staticmw-asgi µs | added µs | ratio "
            "(median) | rounds |",
            "|---|---|---|---|---|---|---|",
        ]
        for server, rows in paired.items():
            for workload, row in rows.items():
                us = row["us_per_request"]
                rounds = ", ".join(f"{r:.2f}" for r in row["ratios"])
                lines.append(
                    f"| {server} | {workload} | {us['bare-asgi']:.1f} | "
                    f"{us['staticmw-asgi']:.1f} | {row['added_us']:+.1f} | "
                    f"{row['ratio']:.2f}× | {rounds} |"
                )
        lines.append("")
    lines += _django_tables(data.get("django") or {})
    lines += deltas.table(data.get("deltas") or {})
    lines += deploys.table(data.get("deploys") or {})
    lines += hints.table(data.get("hints") or {})
    lines += pageload.table(data.get("pageload") or {})
    lines += ["### Targets", "", "| target | measured | met |", "|---|---|---|"]
    for target in data["targets"]:
        mark = {True: "yes", False: "**no**", None: "not measured", "recorded": "(recorded)"}[
            target["met"]
        ]
        lines.append(f"| {target['target']} | {target['measured']} | {mark} |")
    return "\n".join(lines) + "\n"


def _django_tables(django: dict) -> list[str]:
    """Django with staticmw against Django with WhiteNoise, served and collected."""
    lines: list[str] = []
    served_rows = django.get("served")
    if served_rows:
        ours, theirs = (
            served_rows.get("django-staticmw", {}),
            served_rows.get("django-whitenoise", {}),
        )
        lines += [
            "### Django (Gunicorn sync, 2 workers; Uvicorn, 1), staticmw against WhiteNoise",
            "",
            "| measure | staticmw | WhiteNoise | ratio |",
            "|---|---|---|---|",
        ]
        for measure in ours:
            mine, other = ours[measure], theirs.get(measure)
            lines.append(f"| {measure} | {mine:.1f} | {other:.1f} | {_ratio(mine, other)} |")
        lines.append("")
    for collected, corpus in _collect_rows(django):
        ours, theirs = collected["django-staticmw"], collected["django-whitenoise"]
        lines += [
            f"### collectstatic, gzip and brotli: Django admin plus {corpus} "
            f"({ours['files']} collected), wall seconds",
            "",
            "| run | staticmw | WhiteNoise | ratio |",
            "|---|---|---|---|",
        ]
        for run_name in ("first", "second", "fresh"):
            if run_name not in ours:
                continue
            mine, other = ours[run_name], theirs[run_name]
            label = {"fresh": "fresh STATIC_ROOT (staticmw: history restored)"}.get(
                run_name, run_name
            )
            lines.append(f"| {label} | {mine:.2f} | {other:.2f} | {_ratio(mine, other)} |")
        lines.append("")
    returning = django.get("returning")
    if returning:
        ours, theirs = returning["django-staticmw"], returning["django-whitenoise"]
        lines += [
            "### Django, a returning visitor after a one-line change to a module: bytes "
            "downloaded (staticmw: STATICMW_DICTIONARIES = 1)",
            "",
            "| | identity | sent | ratio |",
            "|---|---|---|---|",
            f"| staticmw (dcz delta) | {ours['identity']:,} | {ours['dcz']:,} | "
            f"{ours['dcz'] / theirs['br']:.4f}× |",
            f"| WhiteNoise (brotli) | {theirs['identity']:,} | {theirs['br']:,} | |",
            "",
        ]
    return lines


def _granian_targets(add, serv: dict) -> None:
    """Granian (WSGI): near the bare app, ahead of WhiteNoise, near nginx for big bodies."""
    ours, bare, theirs = (
        serv.get("staticmw (granian)"),
        serv.get("bare (granian)"),
        serv.get("whitenoise (granian)"),
    )
    nginx_row = serv.get("nginx")
    if not ours:
        return
    for workload in ("1 KB (200)", "304 (If-None-Match)"):
        if bare and bare.get(workload):
            ratio = ours[workload]["rps"] / bare[workload]["rps"]
            add(f"granian {workload} ≥ 0.95× bare app req/s", f"{ratio:.2f}×", ratio >= 0.95)
    if theirs:
        ratio = ours["1 KB (200)"]["rps"] / theirs["1 KB (200)"]["rps"]
        add("granian 1 KB (200) ≥ 1.3× WhiteNoise req/s", f"{ratio:.2f}×", ratio >= 1.3)
    if nginx_row:
        ratio = ours["1 KB (200)"]["rps"] / nginx_row["1 KB (200)"]["rps"]
        add("granian 1 KB (200) as a multiple of nginx", f"{ratio:.2f}×", "recorded")
        for workload, limit in (("10 MiB (200)", 0.95), ("1 MiB range (206)", 0.9)):
            ratio = ours[workload]["mbps"] / nginx_row[workload]["mbps"]
            add(f"granian {workload} ≥ {limit}× nginx MiB/s", f"{ratio:.2f}×", ratio >= limit)


def _django_targets(add, django: dict) -> None:
    served_rows = django.get("served") or {}
    ours, theirs = served_rows.get("django-staticmw"), served_rows.get("django-whitenoise")
    if ours and theirs:
        cpu = ours["10 MiB worker CPU ms/response"] / theirs["10 MiB worker CPU ms/response"]
        add("Django sync 10 MiB worker CPU ≤ 1× WhiteNoise", f"{cpu:.2f}×", cpu <= 1)
        rate = ours["10 MiB MiB/s"] / theirs["10 MiB MiB/s"]
        add("Django sync 10 MiB MiB/s ≥ 1× WhiteNoise", f"{rate:.2f}×", rate >= 1)
        for workload in ("1 KB (200)", "304 (If-None-Match)"):
            ratio = ours[workload] / theirs[workload]
            add(f"Django sync {workload} ≥ 1.1× WhiteNoise req/s", f"{ratio:.2f}×", ratio >= 1.1)
        ratio = ours["uvicorn 1 KB (200)"] / theirs["uvicorn 1 KB (200)"]
        add("Django uvicorn 1 KB (200) ≥ 10× WhiteNoise req/s", f"{ratio:.2f}×", ratio >= 10)
    for collected, corpus in _collect_rows(django):
        ours, theirs = collected["django-staticmw"], collected["django-whitenoise"]
        for run_name, limit in (("first", 0.5), ("second", 0.1)):
            ratio = ours[run_name] / theirs[run_name]
            add(
                f"collectstatic of the admin plus {corpus} ({run_name} run) "
                f"≤ {limit}× WhiteNoise's storage",
                f"{ratio:.2f}×",
                ratio <= limit,
            )
        if "fresh" in ours:
            ratio = ours["fresh"] / ours["second"]
            add(
                f"collectstatic of the admin plus {corpus} into a fresh STATIC_ROOT with the "
                "history ≤ 2× a second run",
                f"{ratio:.2f}×",
                ratio <= 2,
            )
    returning = django.get("returning")
    if returning:
        ratio = returning["django-staticmw"]["dcz"] / returning["django-whitenoise"]["br"]
        add(
            "Django returning visitor bytes ≤ 0.1× WhiteNoise's brotli",
            f"{ratio:.3f}×",
            ratio <= 0.1,
        )


def _request_rate_targets(add, server, ours, bare, bare_name, theirs, peer_name) -> None:
    """1 KB and 304 req/s under one server: near the bare app's pass-through, above the peer's."""
    for workload in ("1 KB (200)", "304 (If-None-Match)"):
        if ours and bare:
            ratio = ours[workload]["rps"] / bare["pass-through"]["rps"]
            add(f"{server} {workload} ≥ 0.95× {bare_name} req/s", f"{ratio:.2f}×", ratio >= 0.95)
        if ours and theirs:
            ratio = ours[workload]["rps"] / theirs[workload]["rps"]
            add(f"{server} {workload} ≥ 1.2× {peer_name} req/s", f"{ratio:.2f}×", ratio >= 1.2)


def targets(data: dict) -> list[dict]:
    found: list[dict] = []

    def add(target: str, measured: str, met: bool | str | None) -> None:
        found.append({"target": target, "measured": measured, "met": met})

    proc = data.get("in_process") or {}
    mw, wn = proc.get("staticmw", {}), proc.get("whitenoise", {})
    for workload, limit in (("1 KB (200)", 0.3), ("304 (If-None-Match)", 0.6)):
        if mw.get(workload) and wn.get(workload):
            ratio = mw[workload] / wn[workload]
            add(f"in-process {workload} ≤ {limit}× WhiteNoise", f"{ratio:.2f}×", ratio <= limit)
    if mw.get("pass-through") is not None and proc.get("bare", {}).get("pass-through") is not None:
        extra = mw["pass-through"] - proc["bare"]["pass-through"]
        add("in-process pass-through ≤ bare + 0.1 µs", f"+{extra:.2f} µs", extra <= 0.1)
    auto_mw = proc.get("staticmw-autorefresh", {}).get("1 KB (200)")
    auto_wn = proc.get("whitenoise-autorefresh", {}).get("1 KB (200)")
    if auto_mw and auto_wn:
        ratio = auto_mw / auto_wn
        add(
            "in-process autorefresh 1 KB ≤ 0.3× WhiteNoise autorefresh",
            f"{ratio:.2f}×",
            ratio <= 0.3,
        )
    asgi = data.get("in_process_asgi") or {}
    for workload in ("1 KB (200)", "304 (If-None-Match)"):
        mine = asgi.get("staticmw-asgi", {}).get(workload)
        for peer in ("servestatic-asgi", "starlette"):
            theirs_asgi = asgi.get(peer, {}).get(workload)
            if mine and theirs_asgi:
                ratio = mine / theirs_asgi
                add(f"ASGI in-process {workload} ≤ 0.3× {peer}", f"{ratio:.2f}×", ratio <= 0.3)
    for server, rows in (data.get("paired_asgi") or {}).items():
        for workload, row in rows.items():
            add(
                f"{server} {workload} ≥ 0.95× the same-answer ASGI app (median of paired rounds)",
                f"{row['ratio']:.2f}×",
                row["ratio"] >= 0.95,
            )
    sa = data.get("served_asgi") or {}
    mine_u, theirs_u = sa.get("staticmw-asgi (uvicorn)"), sa.get("servestatic-asgi (uvicorn)")
    # Against the same-answer app, the paired rounds above are the measure; here, the peer.
    _request_rate_targets(add, "uvicorn", mine_u, None, "", theirs_u, "ServeStatic ASGI")
    if mine_u and theirs_u:
        ratio = mine_u["10 MiB (200)"]["mbps"] / theirs_u["10 MiB (200)"]["mbps"]
        add("uvicorn 10 MiB ≥ 2× ServeStatic ASGI MiB/s", f"{ratio:.2f}×", ratio >= 2)
    granian_mine = sa.get("staticmw-asgi (granian)")
    nginx_data = (data.get("served") or {}).get("nginx")
    if granian_mine and nginx_data:
        ratio = granian_mine["10 MiB (200)"]["mbps"] / nginx_data["10 MiB (200)"]["mbps"]
        add("granian 10 MiB ≥ 0.9× nginx MiB/s", f"{ratio:.2f}×", ratio >= 0.9)
    serv = data.get("served") or {}
    ours, theirs, bare = (
        serv.get("staticmw (sync)"),
        serv.get("whitenoise (sync)"),
        serv.get("bare (sync)"),
    )
    _request_rate_targets(add, "sync", ours, bare, "bare pass-through", theirs, "WhiteNoise")
    if ours and serv.get("nginx"):
        for workload in ("10 MiB (200)", "1 MiB range (206)"):
            ratio = ours[workload]["mbps"] / serv["nginx"][workload]["mbps"]
            add(f"sync {workload} ≥ 0.95× nginx MiB/s", f"{ratio:.2f}×", ratio >= 0.95)
    _granian_targets(add, serv)
    _django_targets(add, data.get("django") or {})
    for case, best in (data.get("hints") or {}).items():
        if case in hints.HELD:
            ratio = hints.ratio(best)
            add(f"early hints on, {case} ≤ 1.02× off", f"{ratio:.3f}×", ratio <= 1.02)
    for kind, row in (data.get("pageload") or {}).items():
        if kind not in pageload.GAINING:
            continue  # reported: where the server cannot gain, the table shows it
        gain = row["without"] - row["with"]
        add(f"early hints, {kind}: load ≥ 200 ms sooner", f"{gain:.0f} ms", gain >= 200)
    kept = data.get("deploys")
    if kept:
        ratio = kept["with_history"] / kept["without"]
        add("deploy build with history and --keep ≤ 1.1× without", f"{ratio:.2f}×", ratio <= 1.1)
    looked = data.get("lookups") or {}
    if looked.get("evicted, asked again") and looked.get("first request"):
        ratio = looked["evicted, asked again"] / looked["first request"]
        add("a request for an evicted file ≤ 1.2× a first request", f"{ratio:.2f}×", ratio <= 1.2)
    start = data.get("startup") or {}
    big = start.get("staticmw", {}).get("100000")
    if big:
        add(
            "startup over 100,000 files ≤ 50 ms",
            f"{big['seconds'] * 1000:.1f} ms",
            big["seconds"] <= 0.05,
        )
        add(
            "startup RSS growth ≤ 10 MB",
            f"{big['rss_growth'] / 1e6:.1f} MB",
            big["rss_growth"] <= 10e6,
        )
        theirs_big = start.get("whitenoise", {}).get("100000", {})
        if "rss_after_all" in big and "rss_after_all" in theirs_big:
            ratio = big["rss_after_all"] / theirs_big["rss_after_all"]
            add("RSS after serving all 100,000 ≤ 0.5× WhiteNoise", f"{ratio:.2f}×", ratio <= 0.5)
    else:
        add("startup over 100,000 files (full run only)", "—", None)
    return found


def against_baseline(ref: str, quick: bool) -> int:
    """``--baseline REF``: this tree's staticmw against REF's, in-process (every workload,
    the two taking turns within each round) and under Gunicorn sync (1 KB, both servers up,
    wrk alternating between them round by round); printed and kept in results/baseline.md."""
    WORK.mkdir(exist_ok=True)
    baseline.prepare(ref, WORK)
    site = make_site(WORK / "site")
    names = ["staticmw", "staticmw@base"]
    rounds, scale, seconds = (5, 0.3, 2) if quick else (9, 1.0, 3)
    print(f"in-process: this tree and {ref}", file=sys.stderr)
    now = in_process(site, names, rounds, scale)
    served: dict[str, dict[str, float]] = {}
    if shutil.which("wrk") is not None:
        print(f"Gunicorn sync, 1 KB: this tree and {ref}", file=sys.stderr)
        path, headers = WORKLOADS["1 KB (200)"]
        rates: dict[str, list[float]] = {name: [] for name in names}
        with (
            wsgi_server(names[0], site, "sync") as first,
            wsgi_server(names[1], site, "sync") as second,
        ):
            ports = dict(zip(names, (first, second), strict=True))
            for turn in range(rounds):
                for name in names if turn % 2 == 0 else names[::-1]:
                    rates[name].append(wrk(ports[name], path, headers, seconds, 8)["rps"])
        served["1 KB (200)"] = {name: statistics.median(values) for name, values in rates.items()}
    text = "\n".join(baseline.table(ref, now, served))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "baseline.md").write_text(text)
    print(text)
    return 0


def _collect_rows(django: dict) -> list[tuple[dict, str]]:
    """The collectstatic results of each corpus measured, and how the tables name it."""
    rows = []
    if django.get("collectstatic"):
        generated = django["collectstatic"]
        rows.append((generated, f"{generated['generated']} generated files"))
    if django.get("collectstatic_wagtail"):
        wagtail = django["collectstatic_wagtail"]
        rows.append((wagtail, wagtail["app"].replace("==", " ")))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--smoke", action="store_true")
    parser.add_argument("--no-served", action="store_true", help="skip the Gunicorn/wrk part")
    parser.add_argument(
        "--report-only", metavar="JSON", help="render the tables again from results"
    )
    parser.add_argument(
        "--baseline", metavar="REF", help="measure this tree against the git ref REF, alone"
    )
    args = parser.parse_args(argv)
    if args.baseline:
        return against_baseline(args.baseline, args.quick or args.smoke)
    if args.report_only:
        saved = json.loads(Path(args.report_only).read_text())
        saved["targets"] = targets(saved)
        text = report(saved)
        Path(args.report_only).with_suffix(".md").write_text(text)
        print(text)
        return 0
    WORK.mkdir(exist_ok=True)
    site = make_site(WORK / "site")
    names = [n for n in peers.ALL if peers.available(n)]
    have_wrk = shutil.which("wrk") is not None
    have_nginx = NGINX is not None
    if args.smoke:
        plan = dict(rounds=1, scale=0.01, counts=[200], seconds=1, repeats=1, workers=["sync"])
        plan["django_files"] = 0
        plan["served_names"] = ["bare", "staticmw"]
        plan["asgi_servers"] = {"uvicorn": ["bare-asgi", "staticmw-asgi"]}
        plan["paired_rounds"] = 1
    elif args.quick:
        plan = dict(rounds=5, scale=0.3, counts=[10_000], seconds=2, repeats=1)
        plan["workers"] = ["sync", "granian"]
        plan["django_files"] = 400
        plan["served_names"] = ["bare", "staticmw", "whitenoise"]
        plan["asgi_servers"] = {"uvicorn": ["bare-asgi", "staticmw-asgi", "servestatic-asgi"]}
        plan["paired_rounds"] = 3
    else:
        plan = dict(rounds=9, scale=1.0, counts=[10_000, 100_000], seconds=3, repeats=3)
        plan["django_files"] = 2000
        plan["workers"] = ["sync", "gthread", "granian"]
        plan["served_names"] = [n for n in names if not n.endswith("autorefresh")]
        plan["asgi_servers"] = {
            "uvicorn": ["bare-asgi", "staticmw-asgi", "servestatic-asgi", "starlette"],
            "granian": ["bare-asgi", "staticmw-asgi", "servestatic-asgi"],
        }
        plan["paired_rounds"] = 5
    data: dict = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "mode": "smoke" if args.smoke else "quick" if args.quick else "full",
    }
    print(f"in-process: {', '.join(names)}", file=sys.stderr)
    data["in_process"] = in_process(site, names, plan["rounds"], plan["scale"])
    asgi_names = [n for n in peers.ASGI if peers.asgi_available(n)]
    print(f"in-process ASGI: {', '.join(asgi_names)}", file=sys.stderr)
    data["in_process_asgi"] = in_process_asgi(site, asgi_names, plan["rounds"], plan["scale"])
    print("lookups: staticmw without its memory cache", file=sys.stderr)
    data["lookups"] = lookups(site, make_tree(10_000), plan["rounds"], plan["scale"])
    startup_names = [n for n in ("staticmw", "whitenoise", "servestatic", "werkzeug") if n in names]
    print(f"startup over {plan['counts']} files", file=sys.stderr)
    data["startup"] = startup(startup_names, plan["counts"], serve_all=True)
    if args.no_served:
        pass
    elif not have_wrk:
        print("served: skipped, wrk is not installed (apt-get install wrk)", file=sys.stderr)
    else:
        served_names = [n for n in plan["served_names"] if n in names]
        print(f"served: {', '.join(served_names)} ({', '.join(plan['workers'])})", file=sys.stderr)
        with_nginx = have_nginx and not args.smoke
        if "granian" in plan["workers"]:
            print("served: Granian settings, 1 KB", file=sys.stderr)
            data["granian_settings"] = granian_sweep(site, plan["seconds"], plan["repeats"])
        data["served"] = served(
            site, served_names, plan["workers"], plan["seconds"], plan["repeats"], with_nginx
        )
        data["served_asgi"] = {}
        for server, peer_names in plan["asgi_servers"].items():
            if importlib.util.find_spec(server) is None:
                print(f"served ASGI: skipped {server}, not installed", file=sys.stderr)
                continue
            chosen = [n for n in peer_names if peers.asgi_available(n)]
            print(f"served ASGI: {', '.join(chosen)} ({server})", file=sys.stderr)
            data["served_asgi"].update(
                served_asgi(site, chosen, [server], plan["seconds"], plan["repeats"])
            )
            print(f"served ASGI: paired rounds against the same answer ({server})", file=sys.stderr)
            data.setdefault("paired_asgi", {}).update(
                paired_asgi(site, [server], plan["seconds"], plan["paired_rounds"])
            )
        if djangobench.available() and not args.smoke:
            print("Django: staticmw and WhiteNoise, served and collected", file=sys.stderr)
            data["django"] = {
                "served": djangobench.served(site, plan["seconds"], plan["repeats"], WORK),
                "collectstatic": djangobench.collectstatic(
                    WORK, plan["django_files"], plan["repeats"]
                ),
                "collectstatic_wagtail": djangobench.collectstatic_wagtail(WORK, plan["repeats"]),
                "returning": djangobench.returning_visitor(WORK),
            }
    print("deltas: a one-line change with and without compression dictionaries", file=sys.stderr)
    data["deltas"] = deltas.measure(WORK)
    print("deploys: builds into empty directories with and without the history", file=sys.stderr)
    data["deploys"] = deploys.measure(WORK, 200 if args.smoke else 2000, 1 if args.smoke else 3)
    print("early hints: what they cost the requests they do not concern", file=sys.stderr)
    data["hints"] = hints.measure(WORK, 500 if args.smoke else 10_000)
    if os.access(pageload.CHROMIUM, os.X_OK) and not args.smoke:
        print("early hints: a slow page's load in Chromium, with and without", file=sys.stderr)
        data["pageload"] = pageload.measure(WORK)
    data["targets"] = targets(data)
    text = report(data)
    RESULTS.mkdir(exist_ok=True)
    stem = {"smoke": "smoke", "quick": "quick", "full": "latest"}[data["mode"]]
    (RESULTS / f"{stem}.md").write_text(text)
    (RESULTS / f"{stem}.json").write_text(json.dumps(data, indent=2) + "\n")
    print(text)
    if stem == "latest":
        # The README's tables and the figures its prose quotes, from this run.
        import figures

        return figures.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
