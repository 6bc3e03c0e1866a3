"""Early hints: the links a page used, on its answer and as a 103 on the next navigation,
through the WSGI and ASGI adapters, with every guard."""

from __future__ import annotations

import asyncio
import os
import re

import pytest

from staticmw import StaticMiddleware
from staticmw.build.pipeline import BuildConfig, build
from staticmw.hints import memory as hints
from staticmw.integrations.asgi import ASGIStaticMiddleware
from staticmw.serve.options import ConfigurationError

from ..helpers import call, write
from ..integrations.test_asgi import Client, scope_for

NAVIGATE = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate"}


def site(tmp_path):
    """A built site: a stylesheet with a web font, a module graph three deep, an image."""
    src = tmp_path / "src"
    write(src / "fonts" / "face.woff2", b"wOF2" + bytes(300))
    write(
        src / "css" / "site.css",
        '@font-face { font-family: F; src: url("../fonts/face.woff2") format("woff2"); }\n'
        "body { font-family: F; }\n" * 3,
    )
    write(src / "js" / "app.js", 'import { a } from "./lib/a.js";\nconsole.log(a);\n')
    write(src / "js" / "lib" / "a.js", 'import { b } from "./b.js";\nexport const a = b;\n')
    write(src / "js" / "lib" / "b.js", "export const b = 1;\n")
    write(src / "img" / "logo.png", b"\x89PNG\r\n\x1a\n" + bytes(100))
    out = tmp_path / "out"
    report = build(BuildConfig(sources=[str(src)], out=str(out), codecs=[], jobs=1))
    assert report.ok, report.errors
    return out


def page_app(holder: dict, status: str = "200 OK", content_type: str = "text/html"):
    """A WSGI app that renders a page with the URL helpers of the middleware in *holder*."""

    def app(environ, start_response):
        static = holder["static"]
        holder["rendered"] = holder.get("rendered", 0) + 1
        names = holder.get("names", ("css/site.css", "img/logo.png"))
        html = "".join(f'<link href="{static.static_url(n)}">' for n in names)
        if holder.get("entry", True):
            html += static.importmap_tag("js/app.js")
        headers = [("Content-Type", content_type), *holder.get("extra", [])]
        start_response(holder.get("status", status), headers)
        return [html.encode()]

    return app


def links(result) -> list[str]:
    return [v for k, v in result.header_list if k.lower() == "link"]


def wsgi(tmp_path, **options):
    holder: dict = {}
    static = StaticMiddleware(
        page_app(holder), site(tmp_path), "/static/", early_hints=True, **options
    )
    holder["static"] = static
    sent: list = []

    def fetch(path="/page", method="GET", headers=NAVIGATE, protocol="HTTP/1.1", query=""):
        extra = {"wsgi.early_hints": sent.append, "SERVER_PROTOCOL": protocol}
        return call(static, path, method, headers, query=query, environ_extra=extra)

    return static, holder, sent, fetch


def test_a_page_gets_its_links_and_the_next_navigation_a_103(tmp_path):
    static, holder, sent, fetch = wsgi(tmp_path)
    first = fetch()
    assert first.status == 200 and sent == []  # a route never seen: no 103
    values = links(first)
    css = static.static_url("css/site.css")
    font = re.search(r"/static/fonts/face\.[0-9a-f]{12}\.woff2", " ".join(values))
    assert values[0] == f"<{css}>; rel=preload; as=style"
    assert font and f"<{font.group(0)}>; rel=preload; as=font; crossorigin" in values
    modules = [v for v in values if "modulepreload" in v]
    assert [re.search(r"/static/js/([a-z/]+)\.", v).group(1) for v in modules] == [
        "app", "lib/a", "lib/b",
    ]  # fmt: skip
    assert all(re.search(r'; integrity="sha384-[A-Za-z0-9+/]+=*"$', v) for v in modules)
    assert not [v for v in values if "logo" in v]  # images are not critical
    second = fetch()
    assert sent == [[("Link", value) for value in values]]
    assert links(second) == values
    # the 103 goes out before the application runs
    assert holder["rendered"] == 2


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"method": "POST"}, "not a GET"),
        ({"method": "HEAD"}, "not a GET"),
        ({"protocol": "HTTP/1.0"}, "HTTP/1.0 has no 1xx answers"),
        ({"headers": {"Accept": "*/*", "Sec-Fetch-Mode": "cors"}}, "a fetch, not a navigation"),
        ({"headers": {"Accept": "application/json"}}, "not a page"),
    ],
)
def test_no_103_but_for_a_get_navigation_over_http_11(tmp_path, change, why):
    _, _, sent, fetch = wsgi(tmp_path)
    fetch()  # the route is known
    fetch(**change)
    assert sent == [], why


def test_none_to_a_route_never_seen_and_none_for_what_is_not_a_page(tmp_path):
    _, holder, sent, fetch = wsgi(tmp_path)
    fetch("/a")
    fetch("/b")
    assert sent == []
    holder["status"] = "302 Found"  # the route's page is gone: its links are forgotten
    assert links(fetch("/a")) == []
    assert len(sent) == 1  # the 103 went out before the app answered
    holder["status"] = "200 OK"
    fetch("/a")
    assert len(sent) == 1
    assert links(fetch("/a", query="page=2"))  # the query is not part of the route
    assert len(sent) == 2


def test_json_and_pages_the_app_turns_off_get_no_links(tmp_path):
    static, holder, sent, fetch = wsgi(tmp_path)
    fetch()
    holder["extra"] = [("X-Staticmw-Early-Hints", "off")]
    off = fetch()
    assert links(off) == [] and "x-staticmw-early-hints" not in off.headers
    holder["extra"] = []
    fetch()
    assert len(sent) == 1  # the page turned off was forgotten: no 103 for the one after
    json_static = StaticMiddleware(
        page_app({"static": static}, content_type="application/json"),
        static.roots[0][1], "/static/", early_hints=True,
    )  # fmt: skip
    result = call(json_static, "/api", headers=NAVIGATE)
    assert links(result) == []


def test_the_opt_out_header_never_reaches_the_client(tmp_path):
    _, holder, _, fetch = wsgi(tmp_path)
    holder.update(names=(), entry=False, extra=[("X-StaticMW-Early-Hints", "off")])
    plain = fetch("/plain")  # a page that names nothing, on a route never seen
    assert plain.status == 200 and "x-staticmw-early-hints" not in plain.headers


def test_a_page_that_changed_gets_new_links_within_one_request(tmp_path):
    _, holder, sent, fetch = wsgi(tmp_path)
    fetch()
    holder["entry"] = False
    holder["names"] = ("img/logo.png",)
    changed = fetch()
    assert links(changed) == []
    fetch()
    assert len(sent) == 1  # only the 103 sent before the change was noticed


def test_only_files_that_exist_under_the_mounts(tmp_path):
    static, holder, _sent, fetch = wsgi(tmp_path)
    holder["names"] = ("css/site.css", "css/missing.css", "/elsewhere/x.css")
    first = fetch()
    assert [v for v in links(first) if "style" in v] == [
        f"<{static.static_url('css/site.css')}>; rel=preload; as=style"
    ]
    hashed = static.static_url("css/site.css").removeprefix("/static/")
    os.unlink(os.path.join(static.roots[0][1], hashed))
    static.hints.forget()
    assert not [v for v in links(fetch()) if "style" in v]


def test_no_header_injection_through_names_or_values():
    bad = ('/static/a".css', "/static/a>.css", "/static/a\r\nSet-Cookie: x=1.css", "/s/a b", "/a,b")
    for url in bad:
        assert hints.Link(url, "preload", "style").value() is None
    assert hints.Link("/static/a.css", "preload", "style", 'x" ; evil').value() is None
    assert hints.Link("/static/a.css", "preload", "style\r\nX: 1").value() is None
    assert hints.Link("/static/a.css", "preload\r\nX: 1", "style").value() is None


def test_odd_file_names_are_linked_quoted(tmp_path):
    src = tmp_path / "src"
    names = ["css/a b.css", 'css/a"q.css', "css/a>q.css", "css/a,q;r.css"]
    for name in names:
        write(src / name, "p { color: red }\n" * 20)
    assert build(BuildConfig(sources=[str(src)], out=str(tmp_path / "out"), codecs=[], jobs=1)).ok
    holder: dict = {"names": names, "entry": False}
    static = StaticMiddleware(page_app(holder), tmp_path / "out", "/static/", early_hints=True)
    holder["static"] = static
    values = links(call(static, "/page", headers=NAVIGATE))
    # The space is quoted; "," and ";" would confuse careless Link parsers, and the build
    # never hashes a name with a quote or an angle bracket: those are not linked at all.
    assert values == [f"<{static.static_url('css/a b.css')}>; rel=preload; as=style"]
    assert "%20" in values[0]


def test_memory_is_bounded_under_many_distinct_paths(tmp_path):
    static, _, _, fetch = wsgi(tmp_path)
    memory = static.hints.memory
    for number in range(100_000):
        memory.put(f"/p/{number}", ("</static/a.css>; rel=preload; as=style",))
    assert len(memory) == hints.MAX_ROUTES
    assert memory.get("/p/99999", ()) and not memory.get("/p/0", ())
    for number in range(300):
        fetch(f"/q/{number}")
    assert len(memory) == hints.MAX_ROUTES


def test_the_app_can_key_routes_itself(tmp_path):
    def key(path, query):
        return None if path.startswith("/private") else path + "?" + query

    _, _, sent, fetch = wsgi(tmp_path, early_hints_key=key)
    fetch("/private/x")
    fetch("/private/x")
    assert sent == []
    fetch("/list", query="page=1")
    fetch("/list", query="page=2")
    assert sent == []
    fetch("/list", query="page=1")
    assert len(sent) == 1
    with pytest.raises(ConfigurationError, match="early_hints_key must be callable"):
        StaticMiddleware(page_app({}), tmp_path, early_hints_key="path")


def test_a_deploy_forgets_every_route(tmp_path):
    static, _, sent, fetch = wsgi(tmp_path, recheck_interval=0)
    fetch()
    src = tmp_path / "src"
    write(src / "css" / "site.css", "body { color: blue }\n" * 30)
    assert build(BuildConfig(sources=[str(src)], out=str(tmp_path / "out"), codecs=[], jobs=1)).ok
    static._manifests_current()
    fetch()
    assert sent == []  # the links named the build before


def test_off_by_default_and_static_files_untouched(tmp_path):
    out = site(tmp_path)
    holder: dict = {}
    plain = StaticMiddleware(page_app(holder), out, "/static/")
    holder["static"] = plain
    assert plain.hints is None
    assert links(call(plain, "/page", headers=NAVIGATE)) == []
    hinted = StaticMiddleware(page_app(holder), out, "/static/", early_hints=True)
    css = hinted.static_url("css/site.css")
    sent: list = []
    result = call(hinted, css, headers=NAVIGATE, environ_extra={"wsgi.early_hints": sent.append})
    assert result.status == 200 and links(result) == [] and sent == []


def asgi_page(holder: dict):
    async def app(scope, receive, send):
        static = holder["static"]
        html = f'<link href="{static.static_url("css/site.css")}">' + static.importmap_tag(
            "js/app.js"
        )
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": html.encode()})

    return app


def asgi_fetch(app, headers=NAVIGATE, version="1.1", extensions=True):
    messages: list = []

    async def send(message):
        messages.append(message)

    scope = scope_for("/page", headers=headers)
    scope["http_version"] = version
    if extensions:
        scope["extensions"] = {"http.response.early_hint": {}}
    asyncio.run(app(scope, Client().receive, send))
    return messages


def test_asgi_sends_the_early_hint_message_where_offered(tmp_path):
    holder: dict = {}
    static = ASGIStaticMiddleware(asgi_page(holder), site(tmp_path), "/static/", early_hints=True)
    holder["static"] = static
    first = asgi_fetch(static)
    assert first[0]["type"] == "http.response.start"
    values = [v.decode() for k, v in first[0]["headers"] if k == b"link"]
    assert values and values[0].endswith("; rel=preload; as=style")
    second = asgi_fetch(static)
    assert second[0] == {"type": "http.response.early_hint", "links": [v.encode() for v in values]}
    assert second[1]["type"] == "http.response.start"
    for kept_out in (
        asgi_fetch(static, extensions=False),  # the server offers no 103
        asgi_fetch(static, version="1.0"),
        asgi_fetch(static, headers={"Accept": "text/css"}),
    ):
        assert kept_out[0]["type"] == "http.response.start"


def test_a_page_that_starts_its_answer_before_rendering(tmp_path):
    """A generator body names its assets after the headers went: the next visit gets them,
    as a 103 and on its answer."""
    out = site(tmp_path)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        yield static.static_url("css/site.css").encode()

    static = StaticMiddleware(app, out, "/static/", early_hints=True)
    sent: list = []
    extra = {"wsgi.early_hints": sent.append, "SERVER_PROTOCOL": "HTTP/1.1"}
    first = call(static, "/page", headers=NAVIGATE, environ_extra=extra)
    assert links(first) == [] and sent == []
    second = call(static, "/page", headers=NAVIGATE, environ_extra=extra)
    css = f"<{static.static_url('css/site.css')}>; rel=preload; as=style"
    assert sent == [[("Link", css), *[("Link", v) for v in links(second)[1:]]]]
    assert links(second)[0] == css


def test_an_asgi_page_that_names_its_assets_as_it_streams(tmp_path):
    """The ASGI twin of the generator page: its headers go first, then it renders."""
    holder: dict = {}

    async def app(scope, receive, send):
        headers = [(b"content-type", b"text/html")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        html = f'<link href="{holder["static"].static_url("css/site.css")}">'
        await send({"type": "http.response.body", "body": html.encode()})

    static = ASGIStaticMiddleware(app, site(tmp_path), "/static/", early_hints=True)
    holder["static"] = static
    first = asgi_fetch(static)
    assert first[0]["type"] == "http.response.start"
    assert not [v for k, v in first[0]["headers"] if k == b"link"]
    second = asgi_fetch(static)
    css = f"<{static.static_url('css/site.css')}>; rel=preload; as=style".encode()
    assert second[0]["type"] == "http.response.early_hint" and second[0]["links"][0] == css
    assert next(v for k, v in second[1]["headers"] if k == b"link") == css


def test_explain_tells_what_a_route_would_hint(tmp_path):
    static, _, _, fetch = wsgi(tmp_path)
    unseen = static.explain("/page?x=1")
    assert unseen.outcome == "passed" and unseen.hints_route == "/page" and unseen.hints == ()
    assert "nothing remembered for route '/page' yet" in "\n".join(unseen.lines())
    values = links(fetch())
    assert values
    known = static.explain("/page?x=2")  # the query is not part of the route
    assert known.hints == tuple(values)
    lines = known.lines()
    assert "the next navigation to route '/page' gets a 103 with" in lines[1]
    assert lines[2:] == [f"    Link: {value}" for value in values]
    assert static.explain("/elsewhere").hints == ()
    served = static.explain(static.static_url("css/site.css"))
    assert served.outcome == "served" and served.hints is None
    assert not [line for line in served.lines() if "early hints" in line]
    plain = StaticMiddleware(page_app({}), static.roots[0][1], "/static/")
    assert plain.explain("/page").hints is None
    assert not [line for line in plain.explain("/page").lines() if "early hints" in line]
    keyed = StaticMiddleware(
        page_app({}), static.roots[0][1], "/static/", early_hints=True,
        early_hints_key=lambda path, query: None if path.startswith("/admin") else path,
    )  # fmt: skip
    admin = keyed.explain("/admin/x")
    assert admin.hints_route is None and "gives this URL no route" in admin.lines()[1]


# -- what one request may leave for the next visitor ------------------------------------


def _hinted_urls(values) -> list[str]:
    return [v[1 : v.index(">")] for v in values]


def test_a_forged_host_or_script_root_reaches_no_other_visitor(tmp_path):
    """A page that builds absolute URLs from the request's Host (an og tag, ``_external``):
    its links are remembered as paths; one under a script root that a header chose is
    remembered for that root alone."""
    holder: dict = {}

    def app(environ, start_response):
        own = environ.get("SCRIPT_NAME", "") + holder["css"]
        hints.note(hints.ASSET, "css/site.css", f"http://{environ['HTTP_HOST']}{own}")
        start_response("200 OK", [("Content-Type", "text/html")])
        return [own.encode()]

    static = StaticMiddleware(app, site(tmp_path), "/static/", early_hints=True)
    css = holder["css"] = static.static_url("css/site.css")
    sent: list = []

    def fetch(host, root=""):
        extra = {
            "wsgi.early_hints": sent.append,
            "SCRIPT_NAME": root,
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        return call(static, "/page", headers={**NAVIGATE, "Host": host}, environ_extra=extra)

    def hinted() -> list[list[str]]:
        found = [_hinted_urls(value for _, value in batch) for batch in sent]
        sent.clear()
        return found

    forged = fetch("attacker.example")
    own = _hinted_urls(links(forged))  # the page's own business: as it has them
    assert own[0] == f"http://attacker.example{css}" and len(own) == 2
    fetch("site.example")
    paths = hinted()
    assert paths == [[css, own[1].removeprefix("http://attacker.example")]]
    fetch("site.example", root="/evil")  # as ProxyFix makes of X-Forwarded-Prefix
    fetch("site.example")
    assert hinted() == paths
    fetch("site.example", root="/evil")
    assert hinted() == [["/evil" + url for url in paths[0]]]


def test_links_on_a_configured_host_are_remembered_and_no_others(tmp_path):
    holder: dict = {}

    def app(environ, start_response):
        static = holder["static"]
        hints.note(hints.ASSET, "css/site.css", static.static_url("css/site.css"))
        elsewhere = holder["app"].replace("cdn.example", "elsewhere.example")
        hints.note(hints.ENTRY, "js/app.js", elsewhere)
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"page"]

    static = StaticMiddleware(
        app, site(tmp_path), "/static/", early_hints=True, static_host="https://cdn.example"
    )
    holder["static"] = static
    holder["app"] = static.static_url("js/app.js")
    sent: list = []
    extra = {"wsgi.early_hints": sent.append, "SERVER_PROTOCOL": "HTTP/1.1"}
    first = call(static, "/page", headers=NAVIGATE, environ_extra=extra)
    assert any("elsewhere.example" in v for v in links(first))  # the page's own business
    call(static, "/page", headers=NAVIGATE, environ_extra=extra)
    remembered = _hinted_urls(value for _, value in sent[0])
    assert remembered and all(url.startswith("https://cdn.example/static/") for url in remembered)


@pytest.mark.parametrize(
    "private",
    [
        {"extra": [("Set-Cookie", "sessionid=1")]},
        {"extra": [("Cache-Control", "private, max-age=0")]},
        {"extra": [("Cache-Control", "no-store")]},
        {"request": {"Authorization": "Basic YWRtaW46YWRtaW4="}},
    ],
)
def test_a_page_for_one_visitor_neither_writes_nor_erases_the_memory(tmp_path, private):
    _, holder, sent, fetch = wsgi(tmp_path)
    fetch()  # an anonymous visit: learned
    public = fetch()
    assert sent and links(public) == [value for _, value in sent[-1]]
    sent.clear()
    holder.update(names=("img/logo.png",), entry=False, extra=private.get("extra", []))
    own = fetch(headers={**NAVIGATE, **private.get("request", {})})
    assert links(own) == [] and len(sent) == 1  # its own page: no links of its own
    holder.update(names=("css/site.css",), entry=True, status="404 Not Found")
    fetch(headers={**NAVIGATE, **private.get("request", {})})  # a private error erases nothing
    holder.pop("extra")
    holder.pop("status")
    sent.clear()
    holder.update(names=("img/logo.png",), entry=False, extra=[("X-Other", "1")])
    fetch()  # the 103 the anonymous visitor gets is still the anonymous page's
    assert [value for _, value in sent[0]] == links(public)


def test_the_memory_is_bounded_in_characters_and_refuses_long_routes():
    memory = hints.Memory(size=10_000, budget=64 * 1024)
    value = "<https://cdn.example/" + "a" * 300 + ".css>; rel=preload; as=style"
    for number in range(2_000):
        memory.put(f"/{number}/" + "p" * 1_000, (value,) * 4)
        assert memory.bytes <= memory.budget
    assert 0 < len(memory) < 2_000
    assert memory.bytes == sum(hints._size(k, v) for k, v in memory._routes.items())
    memory.put("/" + "x" * 4_096, (value,))
    assert memory.get("/" + "x" * 4_096, ()) == ()
    memory.put("/" + "x" * 4_000, (value,))
    assert memory.get("/" + "x" * 4_000, ()) == (value,)
    memory.clear()
    assert memory.bytes == 0 and len(memory) == 0


def test_the_links_of_pages_are_kept_within_their_budget(tmp_path, monkeypatch):
    from staticmw.hints import pagelinks

    monkeypatch.setattr(pagelinks, "COMPUTED_BYTES", 32 * 1024)
    holder: dict = {}

    def app(environ, start_response):
        hints.note(hints.ASSET, "css/site.css", f"http://{environ['HTTP_HOST']}{holder['css']}")
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"page"]

    static = StaticMiddleware(app, site(tmp_path), "/static/", early_hints=True)
    holder["css"] = static.static_url("css/site.css")
    for number in range(300):
        host = f"h{number}." + "x" * 500 + ".example"
        call(static, f"/{number}", headers={**NAVIGATE, "Host": host})
        page_links = static.hints
        assert page_links._computed_size <= 32 * 1024
    assert page_links._computed_size == sum(
        sum(len(n) + len(u) + 100 for _, n, u in noted) + sum(len(v) + 100 for v in found[0])
        for noted, found in page_links._computed.items()
    )
    # A route longer than 4,096 characters is never remembered.
    call(static, "/" + "r" * 5_000, headers={**NAVIGATE, "Host": "site.example"})
    assert static.hints.memory.get("/" + "r" * 5_000, ()) == ()


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("GET", {"Accept": "application/json", "Sec-Fetch-Mode": "cors"}),
        ("POST", NAVIGATE),
        ("HEAD", NAVIGATE),
        ("GET", {"Accept": "application/json"}),
    ],
)
def test_the_opt_out_header_never_reaches_a_client_whatever_the_request(tmp_path, method, headers):
    _, holder, _, fetch = wsgi(tmp_path)
    holder["extra"] = [(hints.OFF_HEADER, "1")]
    result = fetch(method=method, headers=headers)
    assert result.status == 200 and hints.OFF_HEADER not in result.headers

    asgi_holder: dict = {}

    async def app(scope, receive, send):
        start = [(b"content-type", b"text/html"), (hints.OFF_HEADER.encode(), b"1")]
        await send({"type": "http.response.start", "status": 200, "headers": start})
        await send({"type": "http.response.body", "body": b"x"})

    asgi = ASGIStaticMiddleware(app, site(tmp_path / "asgi"), "/static/", early_hints=True)
    asgi_holder["static"] = asgi
    messages: list = []

    async def send(message):
        messages.append(message)

    scope = scope_for("/page", method=method, headers=headers)
    asyncio.run(asgi(scope, Client().receive, send))
    assert messages[0]["status"] == 200
    assert all(k != hints.OFF_HEADER.encode() for k, _ in messages[0]["headers"])


def test_asgi_pages_below_a_root_at_the_site_root_get_their_links(tmp_path):
    """A root mounted at ``/`` (an SPA, files at the site root): a page the application
    answers still gets its links, as under WSGI."""
    holder: dict = {}
    static = ASGIStaticMiddleware(asgi_page(holder), site(tmp_path), "/", early_hints=True)
    holder["static"] = static
    first = asgi_fetch(static)
    values = [v for k, v in first[0]["headers"] if k == b"link"]
    assert values and b"rel=preload; as=style" in values[0]
    second = asgi_fetch(static)
    assert second[0] == {"type": "http.response.early_hint", "links": values}


def test_asgi_a_forged_host_reaches_no_other_visitor(tmp_path):
    """The ASGI twin: a ``url_for`` that builds on the request's Host (Starlette's does)."""
    holder: dict = {}

    async def app(scope, receive, send):
        host = dict(scope["headers"])[b"host"].decode()
        url = holder["css"]
        hints.note(hints.ASSET, "css/site.css", f"http://{host}{url}")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html")],
            }
        )
        await send({"type": "http.response.body", "body": url.encode()})

    static = ASGIStaticMiddleware(app, site(tmp_path), "/static/", early_hints=True)
    css = holder["css"] = static.static_url("css/site.css")
    forged = asgi_fetch(static, headers={**NAVIGATE, "Host": "attacker.example"})
    assert b"attacker.example" in next(v for k, v in forged[0]["headers"] if k == b"link")
    second = asgi_fetch(static, headers={**NAVIGATE, "Host": "site.example"})
    assert second[0]["type"] == "http.response.early_hint"
    assert second[0]["links"][0] == f"<{css}>; rel=preload; as=style".encode()
    assert all(b"attacker" not in value for value in second[0]["links"])


@pytest.mark.parametrize(
    ("request_headers", "response_headers"),
    [
        ({}, [(b"set-cookie", b"sessionid=1")]),
        ({}, [(b"cache-control", b"private")]),
        ({"Authorization": "Bearer x"}, []),
    ],
)
def test_asgi_a_page_for_one_visitor_is_not_replayed(tmp_path, request_headers, response_headers):
    holder: dict = {"extra": []}

    async def app(scope, receive, send):
        static = holder["static"]
        html = static.static_url(holder.get("css", "css/site.css"))
        headers = [(b"content-type", b"text/html"), *holder["extra"]]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": html.encode()})

    static = ASGIStaticMiddleware(app, site(tmp_path), "/static/", early_hints=True)
    holder["static"] = static
    first = asgi_fetch(static)  # anonymous: learned
    learned = [v for k, v in first[0]["headers"] if k == b"link"]
    holder.update(extra=response_headers, css="img/logo.png")
    own = asgi_fetch(static, headers={**NAVIGATE, **request_headers})
    assert own[0] == {"type": "http.response.early_hint", "links": learned}
    holder.update(extra=[])
    again = asgi_fetch(static)
    assert again[0] == {"type": "http.response.early_hint", "links": learned}


def _font_links(result) -> list[str]:
    return [v for v in links(result) if "as=font" in v]


def test_the_build_records_a_stylesheets_fonts_and_hints_read_no_stylesheet(tmp_path, monkeypatch):
    """A stylesheet's fonts come from the build's record: serving never opens the stylesheet
    to find them (a record of a font that is no hashed file of the mount is not hinted)."""
    import json

    from staticmw.hints.pagelinks import PageLinks

    _, holder, _, fetch = wsgi(tmp_path)
    record = json.loads((tmp_path / "out" / "staticmw.json").read_text())
    css = record["files"]["css/site.css"]
    font = record["files"]["fonts/face.woff2"]["hashed"]
    assert css["fonts"] == ["../" + font]
    assert "fonts" not in record["files"]["js/app.js"]

    def unread(self, mount, name):
        raise AssertionError(f"read {name} for its fonts")

    monkeypatch.setattr(PageLinks, "_read", unread)
    assert _font_links(fetch()) == [f"</static/{font}>; rel=preload; as=font; crossorigin"]

    # A record naming a font that is not a file of the build is not hinted.
    css["fonts"] = ["../fonts/other.woff2", "../../outside.woff2", "../" + font]
    (tmp_path / "out" / "staticmw.json").write_text(json.dumps(record))
    again = StaticMiddleware(page_app(holder), str(tmp_path / "out"), "/static/", early_hints=True)
    holder["static"] = again
    answer = call(again, "/page", "GET", NAVIGATE)
    assert _font_links(answer) == [f"</static/{font}>; rel=preload; as=font; crossorigin"]


def test_without_a_record_the_fonts_are_read_from_the_stylesheet(tmp_path):
    """A tree built before fonts were recorded (or a manifest of Django's storage or Vite)
    still gets its fonts hinted, by reading the stylesheet."""
    import json

    _, holder, _, _ = wsgi(tmp_path)
    manifest = tmp_path / "out" / "staticmw.json"
    record = json.loads(manifest.read_text())
    del record["files"]["css/site.css"]["fonts"]
    manifest.write_text(json.dumps(record))
    again = StaticMiddleware(page_app(holder), str(tmp_path / "out"), "/static/", early_hints=True)
    holder["static"] = again
    font = record["files"]["fonts/face.woff2"]["hashed"]
    answer = call(again, "/page", "GET", NAVIGATE)
    assert _font_links(answer) == [f"</static/{font}>; rel=preload; as=font; crossorigin"]


def _styled(tmp_path, integrity=True):
    holder: dict = {}

    def app(environ, start_response):
        tag = holder["static"].stylesheet_tag("css/site.css", integrity=integrity)
        holder["tag"] = tag
        start_response("200 OK", [("Content-Type", "text/html")])
        return [tag.encode()]

    holder["static"] = StaticMiddleware(app, str(tmp_path / "out"), "/static/", early_hints=True)
    return holder


def test_the_stylesheet_helper_renders_the_integrity_its_preload_carries(tmp_path):
    """``stylesheet_tag`` gives the hashed file's SRI value (the build's record) and
    ``crossorigin="anonymous"``; the page's preload of it carries the same, and both are the
    SRI of the bytes served."""
    import base64
    import hashlib
    import json

    site(tmp_path)
    holder = _styled(tmp_path)
    answer = call(holder["static"], "/page", "GET", NAVIGATE)
    url = holder["static"].static_url("css/site.css")
    served = call(holder["static"], url).body
    value = "sha384-" + base64.b64encode(hashlib.sha384(served).digest()).decode()
    record = json.loads((tmp_path / "out" / "staticmw.json").read_text())
    assert record["files"]["css/site.css"]["integrity"] == value
    assert holder["tag"] == (
        f'<link rel="stylesheet" href="{url}" integrity="{value}" crossorigin="anonymous">'
    )
    assert links(answer)[0] == f'<{url}>; rel=preload; as=style; crossorigin; integrity="{value}"'

    # Without the build's record (an older build), the file is read for it: the same value.
    del record["files"]["css/site.css"]["integrity"]
    (tmp_path / "out" / "staticmw.json").write_text(json.dumps(record))
    again = _styled(tmp_path)
    answer = call(again["static"], "/page", "GET", NAVIGATE)
    assert f'integrity="{value}"' in again["tag"]
    assert links(answer)[0].endswith(f'crossorigin; integrity="{value}"')

    # integrity=False: a plain tag, and a plain preload.
    plain = _styled(tmp_path, integrity=False)
    answer = call(plain["static"], "/page", "GET", NAVIGATE)
    assert plain["tag"] == f'<link rel="stylesheet" href="{url}">'
    assert links(answer)[0] == f"<{url}>; rel=preload; as=style"


def test_a_recorded_integrity_that_is_no_sri_value_is_refused(tmp_path):
    """A manifest entry whose ``integrity`` is anything but an SRI value is dropped by the
    one check of every entry; nothing of it reaches the page."""
    import json

    site(tmp_path)
    manifest = tmp_path / "out" / "staticmw.json"
    record = json.loads(manifest.read_text())
    record["files"]["css/site.css"]["integrity"] = 'x" onload="alert(1)'
    manifest.write_text(json.dumps(record))
    holder = _styled(tmp_path)
    call(holder["static"], "/page", "GET", NAVIGATE)
    assert "onload" not in holder["tag"] and "alert" not in holder["tag"]


def test_the_script_helper_renders_what_its_preload_fetches(tmp_path):
    """``script_tag`` gives a classic script the hashed file's SRI value and
    ``crossorigin="anonymous"``; its preload is ``as=script`` in that same mode, so the
    browser uses it. Without integrity both are plain; ``defer`` and a nonce are written,
    escaped; a file no manifest lists gets its plain URL and no hint."""
    import base64
    import hashlib

    site(tmp_path)
    write(tmp_path / "out" / "js" / "plain.js", "console.log(1);\n")
    holder: dict = {}

    def app(environ, start_response):
        static = holder["static"]
        holder["tags"] = [
            static.script_tag("js/lib/b.js"),
            static.script_tag("js/lib/b.js", integrity=False, defer=True, nonce='n"1'),
            static.script_tag("js/plain.js"),
        ]
        start_response("200 OK", [("Content-Type", "text/html")])
        return ["".join(holder["tags"]).encode()]

    holder["static"] = StaticMiddleware(app, str(tmp_path / "out"), "/static/", early_hints=True)
    answer = call(holder["static"], "/page", "GET", NAVIGATE)
    url = holder["static"].static_url("js/lib/b.js")
    served = call(holder["static"], url).body
    value = "sha384-" + base64.b64encode(hashlib.sha384(served).digest()).decode()
    assert holder["tags"] == [
        f'<script src="{url}" integrity="{value}" crossorigin="anonymous"></script>',
        f'<script src="{url}" defer nonce="n&quot;1"></script>',
        '<script src="/static/js/plain.js"></script>',
    ]
    assert links(answer) == [
        f'<{url}>; rel=preload; as=script; crossorigin; integrity="{value}"',
        f"<{url}>; rel=preload; as=script",
    ]
