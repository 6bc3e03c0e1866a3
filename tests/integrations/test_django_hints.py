"""Early hints under Django: ``{% static %}`` and ``{% importmap %}`` name a page's assets;
the middleware adds their links to the page and sends them as a 103 on the next visit."""

from __future__ import annotations

import asyncio
import re

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.template import Context, Template
from django.test import AsyncClient, Client, override_settings
from django.urls import path

from ..helpers import body_of
from .test_django_storage import collect

PAGE = Template(
    "{% load static staticmw %}"
    '<link rel="stylesheet" href="{% static "css/site.css" %}">'
    '<img src="{% static "img/logo.svg" %}">'
    '{% importmap "js/app.js" %}'
)


def page(request):
    return HttpResponse(PAGE.render(Context()))


def data(request):
    return JsonResponse(
        {"css": Template('{% load static %}{% static "css/site.css" %}').render(Context())}
    )


def streamed(request):
    """A page whose template renders as it is sent: it names its assets after its headers."""

    def chunks():
        yield PAGE.render(Context())

    return StreamingHttpResponse(chunks())


async def streamed_async(request):
    async def chunks():
        yield PAGE.render(Context())

    return StreamingHttpResponse(chunks())


def download(request):
    """A file a navigation asks for (a download link): Django hands it to sendfile."""
    return FileResponse(open(__file__, "rb"), content_type="text/plain")


def canonical(request):
    """A page with a Link of its own, and for some visitors a cookie or a private answer."""
    response = page(request)
    response["Link"] = "<https://site.example/>; rel=canonical"
    if "cookie" in request.GET:
        response.set_cookie("sessionid", "1")
    if "private" in request.GET:
        response["Cache-Control"] = "private"
    if "off" in request.GET:
        response["X-Staticmw-Early-Hints"] = "off"
    return response


urlpatterns = [
    path("canonical", canonical),
    path("download", download),
    path("", page),
    path("data", data),
    path("streamed", streamed),
    path("streamed-async", streamed_async),
]
NAVIGATE = {"HTTP_ACCEPT": "text/html", "HTTP_SEC_FETCH_MODE": "navigate"}


def settings(root):
    storages = {"staticfiles": {"BACKEND": "staticmw.django.storage.ManifestStaticFilesStorage"}}
    return override_settings(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["staticmw.django.StaticFilesMiddleware"],
        STATIC_ROOT=str(root),
        STORAGES=storages,
        STATICMW_EARLY_HINTS=True,
        DEBUG=False,
    )


def test_a_page_gets_its_links_and_the_next_visit_a_103(tmp_path):
    collect(tmp_path)  # the example's files: site.css and its font, app -> util -> words -> mark
    sent: list = []
    with settings(tmp_path):
        client = Client()
        first = client.get("/", **NAVIGATE)
        values = first["Link"].split(", ")
        assert re.fullmatch(r"</static/css/site\.[0-9a-f]{12}\.css>; rel=preload; as=style",
                            values[0])  # fmt: skip
        assert re.fullmatch(
            r"</static/fonts/probe\.[0-9a-f]{12}\.woff2>; rel=preload; as=font; crossorigin",
            values[1],
        )
        modules = [re.search(r"/static/js/(\w+)\.", v).group(1) for v in values[2:]]
        assert modules == ["app", "util", "words", "mark"]
        assert all("modulepreload" in v and 'integrity="sha384-' in v for v in values[2:])
        assert not [v for v in values if "logo" in v]
        second = client.get("/", **NAVIGATE, **{"wsgi.early_hints": sent.append})
        assert second["Link"] == first["Link"]
        assert sent == [[("Link", value) for value in values]]
        for value in values:
            assert client.get(value[1 : value.index(">")]).status_code == 200
        assert not client.get("/data", **NAVIGATE).has_header("Link")  # not a page
        assert not client.post("/", **NAVIGATE).has_header("Link")


def test_under_asgi_the_page_carries_its_links(tmp_path):
    collect(tmp_path)

    async def fetch():
        return await AsyncClient().get("/", headers={"Accept": "text/html"})

    with settings(tmp_path):
        response = asyncio.run(fetch())
    assert response.status_code == 200 and b"importmap" in body_of(response)
    assert "rel=preload; as=style" in response["Link"]
    assert "rel=modulepreload" in response["Link"]


def test_off_by_default(tmp_path):
    collect(tmp_path)
    with settings(tmp_path), override_settings(STATICMW_EARLY_HINTS=False):
        assert not Client().get("/", **NAVIGATE).has_header("Link")


def test_behind_get_asgi_application_the_outer_middleware_hints_once(tmp_path):
    from staticmw.integrations.django import get_asgi_application

    from .test_asgi import Client as Receiver
    from .test_asgi import scope_for

    collect(tmp_path)
    with settings(tmp_path):
        application = get_asgi_application()

        def visit():
            messages: list = []

            async def send(message):
                messages.append(message)

            scope = scope_for("/", headers={"Accept": "text/html", "Sec-Fetch-Mode": "navigate"})
            scope["extensions"] = {"http.response.early_hint": {}}
            asyncio.run(application(scope, Receiver().receive, send))
            return messages

        first = visit()
        start = first[0]
        links = [v for k, v in start["headers"] if k.lower() == b"link"]
        assert len(links) == 6  # the stylesheet, its font and four modules, each once
        second = visit()
        assert second[0] == {"type": "http.response.early_hint", "links": links}


def test_a_streamed_page_is_remembered_once_it_has_rendered(tmp_path):
    collect(tmp_path)
    sent: list = []
    with settings(tmp_path):
        client = Client()
        first = client.get("/streamed", **NAVIGATE)
        assert b"importmap" in b"".join(first.streaming_content)
        assert not first.has_header("Link")  # its headers went before it named anything
        second = client.get("/streamed", **NAVIGATE, **{"wsgi.early_hints": sent.append})
        values = second["Link"].split(", ")
        assert re.search(r"/static/css/site\.[0-9a-f]{12}\.css>; rel=preload", values[0])
        assert sent == [[("Link", value) for value in values]]
        b"".join(second.streaming_content)
        assert client.get("/streamed", **NAVIGATE)["Link"] == second["Link"]


def test_an_async_streamed_page_under_asgi(tmp_path):
    collect(tmp_path)

    async def visit():
        client = AsyncClient()
        found = []
        for _ in range(2):
            response = await client.get("/streamed-async", headers={"Accept": "text/html"})
            found.append(response.get("Link"))
            assert b"importmap" in b"".join([chunk async for chunk in response.streaming_content])
        return found

    with settings(tmp_path):
        first, second = asyncio.run(visit())
    assert first is None and second and "rel=preload; as=style" in second


def _hinted(value: str) -> list[str]:
    return [v[1 : v.index(">")] for v in value.split(", ")]


def test_links_name_the_urls_the_page_uses_on_a_cdn_or_below_a_script_name(tmp_path):
    """Each hinted URL is the very URL in the page, whatever STATIC_URL makes of it: a
    preload the page then asks for elsewhere is wasted. Through Django's own WSGI handler,
    which sets the script name as a server would."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import set_script_prefix

    from ..helpers import call

    collect(tmp_path)
    cases = [
        ({"STATIC_URL": "https://cdn.example.org/static/"}, "https://cdn.example.org/static/"),
        ({"STATIC_URL": "/shop/static/", "FORCE_SCRIPT_NAME": "/shop"}, "/shop/static/"),
    ]
    for changes, base in cases:
        with settings(tmp_path), override_settings(**changes):
            headers = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate", "Host": "testserver"}
            try:
                result = call(WSGIHandler(), "/", headers=headers)
            finally:
                set_script_prefix("/")  # the handler set it for this thread, as for a server
        hinted = _hinted(result.headers["link"])
        assert len(hinted) == 6 and all(url.startswith(base) for url in hinted), hinted
        fonts = [url for url in hinted if url.endswith(".woff2")]
        assert len(fonts) == 1 and fonts[0].startswith(base + "fonts/probe.")
        for url in hinted:
            if url not in fonts:  # the stylesheet's href, the modules' src (the font: its CSS)
                assert f'"{url}"'.encode() in result.body


def test_a_file_a_navigation_downloads_keeps_its_sendfile(tmp_path):
    """Through Django's WSGI handler, as a server runs it: the file goes to the server's
    wsgi.file_wrapper (sendfile), not through a recording of the body."""
    from wsgiref.util import FileWrapper, setup_testing_defaults

    from django.core.handlers.wsgi import WSGIHandler

    collect(tmp_path)
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO="/download", HTTP_HOST="testserver", **NAVIGATE)
    environ["wsgi.file_wrapper"] = FileWrapper
    with settings(tmp_path):
        body = WSGIHandler()(environ, lambda status, headers, exc_info=None: None)
    try:
        assert isinstance(body, FileWrapper)
    finally:
        body.close()


def test_the_applications_own_link_header_is_kept(tmp_path):
    collect(tmp_path)
    with settings(tmp_path):
        response = Client().get("/canonical", **NAVIGATE)
    values = response["Link"].split(", ")
    assert values[0] == "<https://site.example/>; rel=canonical"
    assert len(values) == 7 and "rel=preload; as=style" in values[1]


def test_a_page_for_one_visitor_is_not_replayed(tmp_path):
    """A page that sets a cookie, is marked private, or answers credentials keeps its own
    links and leaves the route's memory as it was."""
    collect(tmp_path)
    sent: list = []
    hint = {"wsgi.early_hints": sent.append, "SERVER_PROTOCOL": "HTTP/1.1"}
    with settings(tmp_path):
        client = Client()
        for query, extra in (
            ("cookie", {}),
            ("private", {}),
            ("", {"HTTP_AUTHORIZATION": "Basic YWRtaW46YWRtaW4="}),
        ):
            own = client.get(f"/canonical?{query}", **NAVIGATE, **extra, **hint)
            assert "rel=preload" in own["Link"] and sent == []
        client.get("/canonical", **NAVIGATE)
        client.get("/canonical", **NAVIGATE, **hint)
        assert len(sent) == 1
        sent.clear()
        client.get("/canonical?private", **NAVIGATE, **hint)
        client.get("/canonical?cookie&off", **NAVIGATE, **hint)  # erases nothing either
        client.get("/canonical", **NAVIGATE, **hint)
        assert len(sent) == 3 and sent[0] == sent[2]


def test_the_opt_out_header_never_reaches_a_client(tmp_path):
    collect(tmp_path)
    with settings(tmp_path):
        client = Client()
        for response in (
            client.get(
                "/canonical?off", HTTP_ACCEPT="application/json", HTTP_SEC_FETCH_MODE="cors"
            ),
            client.post("/canonical?off", **NAVIGATE),
            client.head("/canonical?off", **NAVIGATE),
            client.get("/canonical?off", **NAVIGATE),
        ):
            assert response.status_code == 200
            assert not response.has_header("X-Staticmw-Early-Hints")

        async def fetch():
            return await AsyncClient().post("/canonical?off", headers={"Accept": "text/html"})

        assert not asyncio.run(fetch()).has_header("X-Staticmw-Early-Hints")


def test_the_103_keeps_an_absolute_static_url(tmp_path):
    """Links on a CDN that STATIC_URL names are remembered as they are, whatever Host a
    visitor sends; links on the visitor's own host never carry that host."""
    collect(tmp_path)
    sent: list = []
    hint = {"wsgi.early_hints": sent.append, "SERVER_PROTOCOL": "HTTP/1.1"}
    with settings(tmp_path), override_settings(STATIC_URL="https://cdn.example.org/static/"):
        client = Client()
        client.get("/", **NAVIGATE, HTTP_HOST="attacker.example")
        client.get("/", **NAVIGATE, **hint)
    urls = _hinted(", ".join(value for _, value in sent[0]))
    assert len(urls) == 6 and all(u.startswith("https://cdn.example.org/static/") for u in urls)
