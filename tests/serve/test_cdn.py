"""The origin contract, proven through a real caching proxy (nginx proxy_cache) on 127.0.0.1."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import re
import shutil
import textwrap
import time

import brotli
import pytest

from staticmw.build import deltas
from staticmw.build.pipeline import BuildConfig, build

from ..conftest import OLD
from ..helpers import gz, write
from ..servers import Gunicorn, Server, free_port

pytestmark = pytest.mark.server

CSS = b"body { color: #123456; margin: 0 auto; }\n" * 300
MODULE = "\n".join(f"export const v{i} = {i * 7919 % 1000};" for i in range(3000)).encode()
MODULE += b"\nexport const VERSION = 0;\n"
HASHED = "app.3f2a9c1b9d0e.css"
APP = """
from staticmw import StaticMiddleware

def app(environ, start_response):
    if environ["PATH_INFO"] == "/page":  # a page whose module the build made
        html = application.importmap_tag("app.js").encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"app"]

application = StaticMiddleware(
    app, root="static", prefix="/static/", max_age=1, early_hints=True
)
application.add_files("built", prefix="/built/")  # staticmw build --dictionaries
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    if found is None:
        pytest.fail("nginx is not installed: run `make tools` (make test does)")
    return found


@pytest.fixture(scope="module")
def cdn(tmp_path_factory):
    base = tmp_path_factory.mktemp("cdn")
    root = base / "static"
    write(root / "app.css", CSS, OLD)
    write(root / "app.css.gz", gz(CSS), OLD)
    write(root / "app.css.br", brotli.compress(CSS), OLD)
    write(root / HASHED, CSS, OLD)
    write(base / "wsgi_app.py", APP)
    for version in (1, 2):  # two deploys: the second has a delta against the first
        write(base / "src" / "app.js", MODULE.replace(b"VERSION = 0", b"VERSION = %d" % version))
        config = BuildConfig([str(base / "src")], str(base / "built"), dictionaries=1, jobs=1)
        assert build(config).ok
    for path in (base, root, *root.iterdir(), base / "built", *(base / "built").iterdir()):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    origin = Gunicorn(base, "wsgi_app:application", "--access-logfile", str(base / "access.log"))
    proxy_dir = base / "proxy"
    (proxy_dir / "logs").mkdir(parents=True)
    user = "user root;" if os.geteuid() == 0 else ""
    conf = textwrap.dedent(
        f"""
        {user}
        worker_processes 1;
        pid {proxy_dir}/nginx.pid;
        error_log {proxy_dir}/logs/error.log warn;
        events {{ worker_connections 256; }}
        http {{
            access_log off;
            proxy_cache_path {proxy_dir}/cache keys_zone=edge:1m;
            client_body_temp_path {proxy_dir}/body;
            proxy_temp_path {proxy_dir}/tmp;
            fastcgi_temp_path {proxy_dir}/fastcgi;
            uwsgi_temp_path {proxy_dir}/uwsgi;
            scgi_temp_path {proxy_dir}/scgi;
            server {{
                listen 127.0.0.1:{{port}};
                location / {{
                    proxy_pass http://127.0.0.1:{origin.port};
                    proxy_http_version 1.1;
                    proxy_cache edge;
                    proxy_cache_revalidate on;
                    add_header X-Cache-Status $upstream_cache_status always;
                }}
            }}
        }}
        """
    )
    port = free_port()
    (proxy_dir / "nginx.conf").write_text(conf.replace("{port}", str(port)))
    command = [nginx_binary(), "-c", str(proxy_dir / "nginx.conf"), "-p", str(proxy_dir)]
    proxy = Server(proxy_dir, [*command, "-g", "daemon off;"], "nginx", port=port)
    yield base, origin, proxy
    proxy.stop()
    origin.stop()


def via(proxy, path, headers=None):
    status, response_headers, body = proxy.request("GET", path, headers or {})
    return status, response_headers, body, response_headers.get("x-cache-status")


def origin_statuses(base, path):
    log = (base / "access.log").read_text()
    return [line.split('"')[2].split()[0] for line in log.splitlines() if f"GET {path} " in line]


def test_hashed_assets_become_cache_hits(cdn):
    base, _, proxy = cdn
    first = via(proxy, f"/static/{HASHED}")
    second = via(proxy, f"/static/{HASHED}")
    assert first[0] == 200 and first[3] == "MISS"
    assert second[0] == 200 and second[3] == "HIT" and second[2] == CSS
    assert second[1]["cache-control"] == "public, max-age=31536000, immutable"
    deadline = time.monotonic() + 10
    while not origin_statuses(base, f"/static/{HASHED}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(origin_statuses(base, f"/static/{HASHED}")) == 1  # the HIT never reached it


def test_vary_keeps_codings_apart(cdn):
    _, _, proxy = cdn
    gzipped = via(proxy, "/static/app.css", {"Accept-Encoding": "gzip"})
    brotlied = via(proxy, "/static/app.css", {"Accept-Encoding": "br"})
    assert gzipped[1]["content-encoding"] == "gzip" and brotlied[1]["content-encoding"] == "br"
    again_gzip = via(proxy, "/static/app.css", {"Accept-Encoding": "gzip"})
    again_br = via(proxy, "/static/app.css", {"Accept-Encoding": "br"})
    assert again_gzip[3] == "HIT" and gzip.decompress(again_gzip[2]) == CSS
    assert again_br[3] == "HIT" and brotli.decompress(again_br[2]) == CSS


def test_unversioned_files_revalidate_with_304(cdn):
    base, _, proxy = cdn
    first = via(proxy, "/static/app.css")
    assert first[0] == 200 and first[1]["cache-control"] == "public, max-age=1"
    time.sleep(2.2)  # past max-age=1
    again = via(proxy, "/static/app.css")
    assert again[0] == 200 and again[2] == CSS
    assert again[3] == "REVALIDATED"
    # Gunicorn logs a request after sending it: give the line a moment to land.
    deadline = time.monotonic() + 10
    while "304" not in origin_statuses(base, "/static/app.css") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "304" in origin_statuses(base, "/static/app.css")


def test_a_deploy_is_picked_up_by_name(cdn):
    base, _, proxy = cdn
    new_css = CSS + b"/* v2 */\n"
    write(base / "static" / "app.99aa88bb77cc.css", new_css)
    os.chmod(base / "static" / "app.99aa88bb77cc.css", 0o644)
    fresh = via(proxy, "/static/app.99aa88bb77cc.css")
    assert fresh[3] == "MISS" and fresh[2] == new_css
    assert via(proxy, "/static/app.99aa88bb77cc.css")[3] == "HIT"
    # and the old hashed name is still served from the cache to pages that use it
    assert via(proxy, f"/static/{HASHED}")[2] == CSS


def test_vary_keeps_deltas_from_clients_without_the_dictionary(cdn):
    """A cache keyed by Vary must never hand a dcz delta to a client that lacks its dictionary."""
    import json

    base, _, proxy = cdn
    entry = json.loads((base / "built" / "staticmw.json").read_text())["files"]["app.js"]
    old = (base / "built" / entry["versions"][0]).read_bytes()
    new = (base / "built" / entry["hashed"]).read_bytes()
    url = "/built/" + entry["hashed"]
    held = {
        "Accept-Encoding": "gzip, br, zstd, dcb, dcz",
        "Available-Dictionary": f":{base64.b64encode(hashlib.sha256(old).digest()).decode()}:",
    }
    other = {**held, "Available-Dictionary": f":{base64.b64encode(bytes(32)).decode()}:"}
    plain = {"Accept-Encoding": "gzip, br, zstd"}
    for attempt in ("MISS", "HIT"):
        delta = via(proxy, url, held)
        assert delta[3] == attempt and delta[1]["content-encoding"] == "dcz", delta[1]
        assert deltas.undo(old, delta[2]) == new
        assert len(delta[2]) < 100
        for headers in (plain, other):  # same Accept-Encoding as the delta's, other dictionary
            full = via(proxy, url, headers)
            assert full[3] == attempt and full[1]["content-encoding"] == "br", full[1]
            assert brotli.decompress(full[2]) == new
        assert delta[1]["vary"] == full[1]["vary"] == "Accept-Encoding, Available-Dictionary"


def test_a_pages_links_survive_the_cdn_and_name_cache_hits(cdn):
    _, _, proxy = cdn
    status, headers, body = proxy.request(
        "GET", "/page", {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
    )
    assert status == 200 and b"importmap" in body
    pattern = r'<(/built/app\.[0-9a-f]{12}\.js)>; rel=modulepreload; integrity="sha384-[^"]+"'
    found = re.fullmatch(pattern, headers["link"])
    assert found, headers["link"]
    hinted = found.group(1)
    assert via(proxy, hinted)[0] == 200
    status, response_headers, _, cache = via(proxy, hinted)
    assert status == 200 and cache == "HIT"
    assert response_headers["cache-control"] == "public, max-age=31536000, immutable"
