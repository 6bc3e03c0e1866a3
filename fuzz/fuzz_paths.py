"""Fuzz path resolution: no input may reach a file outside the root, a dotfile, or raise.

Run: python fuzz/fuzz_paths.py fuzz/work/paths fuzz/corpus/paths -max_total_time=60
"""

from __future__ import annotations

import os
import shutil
import sys

import atheris

with atheris.instrument_imports():
    from staticmw import StaticMiddleware
    from staticmw.serve import paths
    from staticmw.serve.paths import is_within

SECRET = b"OUTSIDE-THE-ROOT"


def _tree() -> str:
    # Rebuilt on every start under the ignored fuzz/work/, since libFuzzer exits
    # without running clean-up handlers.
    base = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work", "tree")
    shutil.rmtree(base, ignore_errors=True)
    root = os.path.join(base, "root")
    os.makedirs(os.path.join(root, "sub", "deeper"))
    os.makedirs(os.path.join(root, ".git"))
    os.makedirs(os.path.join(base, "root2"))
    files = {
        os.path.join(root, "ok.txt"): b"ok",
        os.path.join(root, "sub", "index.html"): b"<p>index</p>",
        os.path.join(root, "sub", "deeper", "a.css"): b"a{}",
        os.path.join(root, "sub", "deeper", "a.css.gz"): b"\x1f\x8b",
        os.path.join(root, ".env"): SECRET,
        os.path.join(root, ".git", "config"): SECRET,
        os.path.join(base, "secret.txt"): SECRET,
        os.path.join(base, "root2", "evil.txt"): SECRET,
    }
    for path, data in files.items():
        with open(path, "wb") as handle:
            handle.write(data)
    os.symlink(os.path.join(base, "secret.txt"), os.path.join(root, "link.txt"))
    os.symlink(os.path.join(base, "root2"), os.path.join(root, "linkdir"))
    os.symlink(os.path.join(root, ".env"), os.path.join(root, "env.txt"))
    # Links the resolver must follow (they stay inside) or refuse (they leave).
    os.symlink("ok.txt", os.path.join(root, "inside.txt"))
    os.symlink("sub", os.path.join(root, "subdir"))
    os.symlink("../root/sub/deeper", os.path.join(root, "up_and_back"))
    os.symlink("../secret.txt", os.path.join(root, "up_and_out.txt"))
    os.symlink("deeper/../../.git", os.path.join(root, "sub", "to_git"))
    os.symlink("loop2", os.path.join(root, "loop1"))
    os.symlink("loop1", os.path.join(root, "loop2"))
    return root


ROOT = _tree()
REAL_ROOT = os.path.realpath(ROOT)


def _app(environ, start_response):
    start_response("404 Not Found", [("X-App", "1")])
    return [b""]


APPS = [
    StaticMiddleware(_app, ROOT, prefix="/s/", index_file=True),
    StaticMiddleware(_app, ROOT, prefix="/", autorefresh=True),
]


def _call(app, path_info: str, method: str) -> tuple[str, bytes]:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path_info, "QUERY_STRING": "a=b"}
    status = []
    body = app(environ, lambda s, h, e=None: status.append(s))
    try:
        data = b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()
    return status[0], data


def TestOneInput(data: bytes) -> None:
    method = "HEAD" if data[:1] == b"H" else "GET"
    # Both ways of opening: openat2 in one call, and the component walk.
    paths.use_fast_open(data[-1:] != b"W")
    # PEP 3333: PATH_INFO holds the request bytes as latin-1 code points.
    path_info = data.decode("latin-1")
    for app, prefix in ((APPS[0], "/s/"), (APPS[1], "/")):
        for candidate in (path_info, prefix + path_info):
            found = app.lookup(candidate)
            for rep in getattr(found, "representations", ()):
                if not is_within(rep.path, REAL_ROOT):
                    raise AssertionError(f"escaped the root: {candidate!r} -> {rep.path}")
                relative = rep.path[len(REAL_ROOT) :]
                if any(part.startswith(".") for part in relative.split(os.sep)):
                    raise AssertionError(f"served a hidden file: {candidate!r} -> {rep.path}")
            status, body = _call(app, candidate, method)
            if status.startswith("5"):
                raise AssertionError(f"5xx for {candidate!r}: {status}")
            if SECRET in body:
                raise AssertionError(f"secret served for {candidate!r}")


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
