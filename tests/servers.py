"""Start and stop a real Gunicorn on 127.0.0.1 for tests."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process started by *command* (with ``{port}`` filled in) in *directory*."""

    def __init__(
        self, directory: Path, command: list[str], name: str = "server", port: int | None = None
    ):
        self.port = port or free_port()
        self.name = name
        # Logs go to a scratch directory, never into the directory being served.
        self.log = Path(tempfile.mkdtemp(prefix="staticmw-test-")) / f"{name}-{self.port}.log"
        command = [part.replace("{port}", str(self.port)) for part in command]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log.read_text()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()}")

    def request(self, method: str, path: str, headers: dict[str, str] | None = None):
        """One request with the path sent exactly as given; returns (status, headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            body = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        finally:
            conn.close()

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> None:
        """Stop the process group; every server a test starts, it stops."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


class Gunicorn(Server):
    """A Gunicorn process serving ``module:application`` from *directory*."""

    def __init__(self, directory: Path, app: str, *extra: str):
        command = [
            sys.executable, "-m", "gunicorn",
            "--chdir", str(directory),
            "--bind", "127.0.0.1:{port}",
            "--workers", "1",
            "--timeout", "30",
            "--graceful-timeout", "2",
            *extra,
            app,
        ]  # fmt: skip
        super().__init__(directory, command, "gunicorn")


def waitress(directory: Path, app: str) -> Server:
    """Waitress serving ``module:application``; it decodes PATH_INFO its own way."""
    command = [sys.executable, "-m", "waitress", "--listen=127.0.0.1:{port}", "--threads=4", app]
    return Server(directory, command, "waitress")


WSGIREF = """
import socketserver, sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
sys.path.insert(0, ".")
module, _, name = sys.argv[2].partition(":")
app = getattr(__import__(module), name)

class Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

make_server("127.0.0.1", int(sys.argv[1]), app, Server, Quiet).serve_forever()
"""


def wsgiref_server(directory: Path, app: str) -> Server:
    """The standard library's reference server, threaded."""
    return Server(directory, [sys.executable, "-c", WSGIREF, "{port}", app], "wsgiref")
