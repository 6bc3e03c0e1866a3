"""Compression dictionaries (RFC 9842): header fields, the dcz framing, and deltas."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from staticmw.build.deltas import delta, undo
from staticmw.http import dictionaries
from staticmw.http.dictionaries import (
    DCZ_MAGIC,
    allowed,
    delta_name,
    delta_original,
    frame,
    match_pattern,
    parse_available_dictionary,
    use_as_dictionary,
)

DIGEST = hashlib.sha256(b"version one").digest()
ENCODED = base64.b64encode(DIGEST).decode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f":{ENCODED}:", DIGEST),
        (f"  :{ENCODED}:\t", DIGEST),  # surrounding whitespace is not part of the item
        (f":{ENCODED.rstrip('=')}:", DIGEST),  # RFC 8941 §4.2.7: padding may be left out
        (f":{ENCODED}:;id=1", DIGEST),  # parameters are allowed, and ignored
        (None, None),
        ("", None),
        (":", None),
        ("::", None),  # an empty byte sequence is not a SHA-256
        (f"{ENCODED}", None),  # no colons: a token, not a byte sequence
        (f'"{ENCODED}"', None),  # a string
        (f":{ENCODED}", None),
        (f":{ENCODED[:-4]}:", None),  # 30 bytes
        (f":{base64.b64encode(DIGEST + b'x').decode()}:", None),  # 33 bytes
        (f":{ENCODED.replace('+', '-').replace('/', '_')}:", None),  # base64url is not allowed
        (f":{ENCODED}:, :{ENCODED}:", None),  # a list: one dictionary only
        (":!!!!:", None),
        (":\u00e9\u00e9\u00e9\u00e9:", None),
    ],
)
def test_available_dictionary(value, expected):
    assert parse_available_dictionary(value) == expected


@given(st.text(max_size=80))
def test_any_available_dictionary_value_parses_to_a_hash_or_nothing(value):
    result = parse_available_dictionary(value)
    assert result is None or len(result) == 32


@given(st.binary(min_size=32, max_size=32))
def test_every_hash_round_trips(digest):
    assert parse_available_dictionary(f":{base64.b64encode(digest).decode()}:") == digest


@pytest.mark.parametrize(
    ("logical", "pattern", "header"),
    [
        ("js/app.js", "app.*.js", 'match="app.*.js"'),
        ("css/site.min.css", "site.min.*.css", 'match="site.min.*.css"'),
        ("wasm/x", "x.*", 'match="x.*"'),
        # Characters with a meaning in a URL pattern are escaped, then the string is.
        ("js/a+b(1).js", r"a\+b\(1\).*.js", r'match="a\\+b\\(1\\).*.js"'),
        ("js/:id{x}*?.js", r"\:id\{x\}\*\?.*.js", r'match="\\:id\\{x\\}\\*\\?.*.js"'),
        ('js/q"uote.js', 'q"uote.*.js', r'match="q\"uote.*.js"'),
    ],
)
def test_use_as_dictionary_matches_future_hashed_names(logical, pattern, header):
    assert match_pattern(logical) == pattern
    assert use_as_dictionary(logical) == header


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"abc"', "abc"),
        (' "a b" ', "a b"),
        ('""', ""),
        (r'"q\"uote"', 'q"uote'),
        (r'"back\\slash"', "back\\slash"),
        ('"open', None),
        ('"two" "strings"', None),
        ('"trailing"x', None),
        (r'"bad \n escape"', None),
        ('"tab\there"', None),
        ('"caf\u00e9"', None),
        ("token", None),
        ("", None),
        ('"', None),
    ],
)
def test_structured_field_strings(value, expected):
    assert dictionaries.parse_sf_string(value) == expected


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_strings_round_trip(text):
    assert dictionaries.parse_sf_string(dictionaries.sf_string(text)) == text


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1))
def test_the_match_of_any_printable_name_parses_back_to_its_pattern(name):
    header = use_as_dictionary("js/" + name)
    assert header is not None and header.startswith("match=")
    assert dictionaries.parse_sf_string(header[len("match=") :]) == match_pattern(name)


def test_a_name_outside_printable_ascii_gets_no_dictionary_header():
    assert use_as_dictionary("js/d\u00fcsseldorf.js") is None
    assert use_as_dictionary("js/tab\there.js") is None


def test_delta_names():
    name = delta_name("js/app.3f2a9c1b9d0e.js", "0123456789abcdef" * 4)
    assert name == "js/app.3f2a9c1b9d0e.js.0123456789abcdef.dcz"
    assert delta_original("app.3f2a9c1b9d0e.js.0123456789abcdef.dcz") == "app.3f2a9c1b9d0e.js"
    for other in ("app.js.dcz", "app.js.0123456789ABCDEF.dcz", "app.js.0123.dcz", "x.gz"):
        assert delta_original(other) is None


def test_dcz_framing_byte_by_byte():
    body = frame(DIGEST, b"STREAM")
    # A Zstandard skippable frame: magic 0x184D2A5E and length 32, both little-endian.
    assert body[:4] == bytes([0x5E, 0x2A, 0x4D, 0x18])
    assert int.from_bytes(body[:4], "little") == 0x184D2A5E
    assert body[4:8] == bytes([0x20, 0x00, 0x00, 0x00])
    assert body[8:40] == DIGEST
    assert body[40:] == b"STREAM"
    assert body[:8] == DCZ_MAGIC
    with pytest.raises(ValueError, match="32-byte"):
        frame(DIGEST[:31], b"")


def big_module(seed: int) -> bytes:
    lines = [
        f"export function f{i}(x) {{ return x * {(i * seed) % 997} + {i}; }}" for i in range(2500)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_a_delta_decodes_to_the_new_file_with_the_old_one_as_dictionary():
    old = big_module(7)
    new = old.replace(b"f1200(x) { return x", b"f1200(x, y) { return y + x", 1)
    body = delta(old, new)
    assert body[:8] == DCZ_MAGIC and body[8:40] == hashlib.sha256(old).digest()
    # A plain zstd decoder skips the header frame and decodes with the raw dictionary.
    raw = zstandard.ZstdCompressionDict(old, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    assert zstandard.ZstdDecompressor(dict_data=raw).decompress(body[40:]) == new
    assert undo(old, body) == new
    # A one-line change costs bytes, not kilobytes.
    assert len(body) < 200 < len(zstandard.ZstdCompressor(level=19).compress(new)) // 10
    with pytest.raises(ValueError, match="names another dictionary"):
        undo(new, body)
    with pytest.raises(ValueError, match="wrong magic"):
        undo(old, body[1:])


def test_the_window_stays_within_8_mib():
    old = os.urandom(1 << 20) * 10  # 10 MiB, so zstd would pick a larger window unasked
    new = old[: 5 << 20] + b"changed" + old[5 << 20 :]
    body = delta(old, new)
    params = zstandard.get_frame_parameters(body[40:])
    assert params.window_size <= 8 * 1024 * 1024
    assert undo(old, body) == new


@pytest.mark.parametrize(
    ("site", "mode", "origin", "allow", "expected"),
    [
        (None, None, None, None, True),  # no fetch metadata: a non-browser client
        ("same-origin", "no-cors", None, None, True),
        ("cross-site", None, None, None, True),
        ("cross-site", "navigate", None, None, True),
        ("same-site", "same-origin", None, None, True),
        ("cross-site", "cors", "https://a.example", "*", True),
        ("cross-site", "cors", "https://a.example", "https://a.example", True),
        ("cross-site", "cors", "https://a.example", "https://b.example", False),
        ("cross-site", "cors", None, "*", False),
        ("cross-site", "cors", "https://a.example", None, False),
        ("cross-site", "no-cors", "https://a.example", "*", False),  # an opaque response
        ("same-site", "websocket", None, "*", False),
    ],
)
def test_fetch_metadata_decides_whether_a_delta_may_be_sent(site, mode, origin, allow, expected):
    assert allowed(site, mode, origin, allow) is expected


def test_only_code_and_styles_keep_versions():
    assert [dictionaries.wanted(n) for n in ("a.js", "b.MJS", "c.css", "d.wasm")] == [True] * 4
    assert not any(dictionaries.wanted(n) for n in ("a.png", "b.html", "c.json", "d.js.map"))


# -- serving: the middleware, through both adapters ----------------------------------------

BROWSER = "gzip, deflate, br, zstd, dcb, dcz"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """A build of version 1 then version 2 of a module, with deltas against version 1."""
    from staticmw.build.pipeline import BuildConfig, build

    base = tmp_path_factory.mktemp("deltas")
    out = base / "out"
    hashed = []
    for seed in (7, 8):
        (base / "src" / "js").mkdir(parents=True, exist_ok=True)
        (base / "src" / "js" / "app.js").write_bytes(
            big_module(7).replace(b"f1200(x)", b"f1200(x, v%d)" % seed)
        )
        config = BuildConfig(sources=[str(base / "src")], out=str(out), dictionaries=2, jobs=1)
        assert build(config).ok
        hashed.append(json.loads((out / "staticmw.json").read_text())["files"]["js/app.js"])
    old = (out / hashed[0]["hashed"]).read_bytes()
    return out, hashed[1], old


def held(old: bytes) -> str:
    return f":{base64.b64encode(hashlib.sha256(old).digest()).decode()}:"


def get(app, url, headers, method="GET"):
    from ..helpers import call

    return call(app, url, method, headers)


@pytest.fixture
def wsgi(deployed):
    from staticmw import StaticMiddleware

    from ..helpers import fallback_app

    return StaticMiddleware(fallback_app, deployed[0], prefix="/static/")


def test_a_client_holding_the_old_version_gets_the_delta(deployed, wsgi):
    out, entry, old = deployed
    url = "/static/" + entry["hashed"]
    # A client without the dictionary first, so that the brotli answer is held in memory.
    assert get(wsgi, url, {"Accept-Encoding": "br"}).headers["content-encoding"] == "br"
    for _ in range(2):  # a first lookup, then from memory
        answer = get(wsgi, url, {"Accept-Encoding": BROWSER, "Available-Dictionary": held(old)})
        assert answer.status == 200
        assert answer.headers["content-encoding"] == "dcz"
        assert answer.headers["vary"] == "Accept-Encoding, Available-Dictionary"
        assert answer.headers["use-as-dictionary"] == 'match="app.*.js"'
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert int(answer.headers["content-length"]) == len(answer.body) < 200
        assert undo(old, answer.body) == (out / entry["hashed"]).read_bytes()


@pytest.mark.parametrize(
    ("accept", "dictionary", "fetch", "coding"),
    [
        ("gzip, br, zstd", "held", {}, "br"),  # dcz not offered
        (BROWSER, ":" + base64.b64encode(bytes(32)).decode() + ":", {}, "br"),  # unknown hash
        (BROWSER, ":not base64!:", {}, "br"),
        (BROWSER, "garbage", {}, "br"),
        (BROWSER, "", {}, "br"),
        ("gzip, br, dcz;q=0", "held", {}, "br"),
        ("br;q=1, dcz;q=0.5", "held", {}, "br"),  # brotli preferred
        ("br;q=0.5, dcz", "held", {}, "dcz"),
        ("dcz", "held", {}, "dcz"),  # identity unlisted: acceptable, not preferred
        ("dcz, identity;q=0", "held", {}, "dcz"),
        (BROWSER, "held", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, "br"),
        (BROWSER, "held", {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}, "dcz"),
        (None, "held", {}, None),
    ],
)
def test_anything_else_gets_the_usual_negotiation(
    deployed, wsgi, accept, dictionary, fetch, coding
):
    _out, entry, old = deployed
    headers = {"Available-Dictionary": held(old) if dictionary == "held" else dictionary, **fetch}
    if accept is not None:
        headers["Accept-Encoding"] = accept
    answer = get(wsgi, "/static/" + entry["hashed"], headers)
    assert answer.status == 200
    assert answer.headers.get("content-encoding") == coding
    assert answer.headers["vary"] == "Accept-Encoding, Available-Dictionary"


def test_each_answer_has_its_own_etag_and_revalidates_as_itself(deployed, wsgi):
    _out, entry, old = deployed
    url = "/static/" + entry["hashed"]
    with_dictionary = {"Accept-Encoding": BROWSER, "Available-Dictionary": held(old)}
    tags = {}
    for name, headers in {
        "dcz": with_dictionary,
        "br": {"Accept-Encoding": "br"},
        "identity": {},
    }.items():
        answer = get(wsgi, url, headers)
        tags[name] = answer.headers["etag"]
        assert answer.headers["vary"] == "Accept-Encoding, Available-Dictionary"
        again = get(wsgi, url, {**headers, "If-None-Match": tags[name]})
        assert again.status == 304 and again.body == b""
        assert again.headers["vary"] == "Accept-Encoding, Available-Dictionary"
        assert again.headers["etag"] == tags[name]
    assert len(set(tags.values())) == 3
    assert tags["dcz"].endswith(f'-dcz-{hashlib.sha256(old).hexdigest()[:16]}"')
    # The delta's tag does not match what a client without the dictionary gets.
    answer = get(wsgi, url, {"Accept-Encoding": "br", "If-None-Match": tags["dcz"]})
    assert answer.status == 200 and answer.headers["content-encoding"] == "br"


def test_ranges_and_head_apply_to_the_delta_as_to_any_coding(deployed, wsgi):
    _out, entry, old = deployed
    url = "/static/" + entry["hashed"]
    headers = {"Accept-Encoding": BROWSER, "Available-Dictionary": held(old)}
    whole = get(wsgi, url, headers).body
    part = get(wsgi, url, {**headers, "Range": "bytes=0-39"})
    assert part.status == 206 and part.body == whole[:40]
    assert part.headers["content-encoding"] == "dcz"
    assert part.headers["content-range"] == f"bytes 0-39/{len(whole)}"
    head = get(wsgi, url, headers, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == str(len(whole))


def test_the_delta_file_is_never_served_by_its_own_name(deployed, wsgi):
    out, entry, _old = deployed
    (delta,) = entry["deltas"].values()
    assert (out / delta["file"]).is_file()
    assert get(wsgi, "/static/" + delta["file"], {}).passed_through


def test_only_the_hashed_name_is_advertised_as_a_dictionary(deployed, wsgi):
    _out, _entry, old = deployed
    answer = get(
        wsgi, "/static/js/app.js", {"Accept-Encoding": BROWSER, "Available-Dictionary": held(old)}
    )
    assert answer.status == 200 and answer.headers.get("content-encoding") == "br"
    assert "use-as-dictionary" not in answer.headers
    assert answer.headers["vary"] == "Accept-Encoding"


def test_a_delta_that_is_not_what_the_manifest_says_is_not_served(tmp_path, deployed, caplog):
    import shutil

    from staticmw import StaticMiddleware

    from ..helpers import fallback_app

    out = tmp_path / "out"
    shutil.copytree(deployed[0], out)
    entry, old = deployed[1], deployed[2]
    (delta,) = entry["deltas"].values()
    (out / delta["file"]).write_bytes(b"not the delta")
    app = StaticMiddleware(fallback_app, out, prefix="/static/")
    answer = get(
        app,
        "/static/" + entry["hashed"],
        {"Accept-Encoding": BROWSER, "Available-Dictionary": held(old)},
    )
    assert answer.status == 200 and answer.headers["content-encoding"] == "br"
    assert "is not the delta the manifest lists" in caplog.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept-Encoding": BROWSER, "Available-Dictionary": "held"},
        {"Accept-Encoding": BROWSER, "Available-Dictionary": "held", "Range": "bytes=5-9"},
        {"Accept-Encoding": BROWSER, "Available-Dictionary": ":AAAA:"},
        {"Accept-Encoding": "gzip", "Available-Dictionary": "held"},
        {
            "Accept-Encoding": "dcz",
            "Available-Dictionary": "held",
            "Sec-Fetch-Site": "cross-site",
            "Sec-Fetch-Mode": "cors",
            "Origin": "https://a.example",
        },
    ],
)
def test_the_same_answers_through_wsgi_and_asgi(deployed, wsgi, headers):
    from staticmw.integrations.asgi import StaticMiddleware as ASGIStaticMiddleware

    from ..integrations.test_asgi import asgi_call, asgi_fallback

    out, entry, old = deployed
    headers = {k: held(old) if v == "held" else v for k, v in headers.items()}
    asgi = ASGIStaticMiddleware(asgi_fallback, str(out), prefix="/static/")
    url = "/static/" + entry["hashed"]
    for _ in range(2):
        expected = get(wsgi, url, headers)
        status, got, body, _ = asgi_call(asgi, url, "GET", headers)
        assert (status, got, body) == (
            expected.status,
            [(k.lower(), v) for k, v in expected.header_list],
            expected.body,
        )


def test_a_file_with_deltas_and_no_other_variant(tmp_path):
    """Built with ``--codecs none``: identity and a delta only, from disk and from memory."""
    from staticmw import StaticMiddleware
    from staticmw.build.pipeline import BuildConfig, build

    from ..helpers import fallback_app

    for seed in (7, 8):
        (tmp_path / "src").mkdir(exist_ok=True)
        (tmp_path / "src" / "app.js").write_bytes(big_module(seed))
        config = BuildConfig(
            [str(tmp_path / "src")], str(tmp_path / "out"), codecs=[], dictionaries=1, jobs=1
        )
        assert build(config).ok
    entry = json.loads((tmp_path / "out" / "staticmw.json").read_text())["files"]["app.js"]
    old = (tmp_path / "out" / entry["versions"][0]).read_bytes()
    app = StaticMiddleware(fallback_app, tmp_path / "out", prefix="/static/")
    url = "/static/" + entry["hashed"]
    for _ in range(2):
        plain = get(app, url, {"Accept-Encoding": "gzip, br"})
        assert plain.status == 200 and "content-encoding" not in plain.headers
        assert plain.headers["vary"] == "Accept-Encoding, Available-Dictionary"
        delta = get(app, url, {"Accept-Encoding": BROWSER, "Available-Dictionary": held(old)})
        assert delta.status == 200 and delta.headers["content-encoding"] == "dcz"
    assert "dcz" in repr(app.explain(url, "gzip"))


@pytest.mark.parametrize(
    ("deltas", "message"),
    [
        ({"00" * 32: {"file": "../../etc/passwd", "size": 1}}, "not a delta file name"),
        ({"00" * 32: {"file": "js/..", "size": 1}}, "not a delta file name"),
        ({"00" * 32: {"file": "app.1.js.0123456789abcdef.dcz"}}, "bad delta"),
        ({"xyz": {"file": "app.1.js.0123456789abcdef.dcz", "size": 1}}, "bad delta"),
        ({"00" * 31: {"file": "app.1.js.0123456789abcdef.dcz", "size": 1}}, "bad delta"),
        (["not", "an", "object"], "must be an object"),
    ],
)
def test_a_manifest_with_a_bad_delta_is_refused_at_startup(tmp_path, deltas, message):
    from staticmw import ConfigurationError, StaticFiles

    files = {"app.js": {"hashed": "app.1.js", "hash": "00" * 32, "size": 1, "deltas": deltas}}
    manifest = {"version": 1, "codecs": [], "retained": [], "files": files}
    (tmp_path / "staticmw.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigurationError, match=message):
        StaticFiles(root=tmp_path, prefix="/static/")


def _tampered(tmp_path, deployed, change):
    """A copy of the deployed build whose manifest *change* edits, and a second asset."""
    import shutil

    out = tmp_path / "out"
    shutil.copytree(deployed[0], out)
    (out / "js" / "other.js").write_bytes(b"export const other = 1;\n")
    data = json.loads((out / "staticmw.json").read_text())
    data["files"]["js/other.js"] = {"hashed": "js/other.js", "size": 24}
    change(data["files"]["js/app.js"])
    (out / "staticmw.json").write_text(json.dumps(data))
    return out


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_a_nul_in_a_delta_name_costs_that_entry_and_never_a_5xx(
    tmp_path, deployed, caplog, adapter
):
    from staticmw import StaticMiddleware
    from staticmw.integrations.asgi import StaticMiddleware as ASGIStaticMiddleware

    from ..helpers import fallback_app
    from ..integrations.test_asgi import asgi_call, asgi_fallback

    entry, old = deployed[1], deployed[2]

    def poison(app_entry):
        for listed in app_entry["deltas"].values():
            listed["file"] = "js/\x00" + listed["file"].rsplit("/", 1)[-1]

    out = _tampered(tmp_path, deployed, poison)
    headers = {"Accept-Encoding": BROWSER, "Available-Dictionary": held(old)}
    url = "/static/" + entry["hashed"]
    if adapter == "wsgi":
        app = StaticMiddleware(fallback_app, out, prefix="/static/")
        answers = [get(app, url, headers) for _ in range(2)]
        statuses = [(a.status, a.headers.get("content-encoding")) for a in answers]
        assert get(app, "/static/js/other.js", {}).body == b"export const other = 1;\n"
        assert app.static_url("js/other.js") == "/static/js/other.js"
    else:
        asgi = ASGIStaticMiddleware(asgi_fallback, str(out), prefix="/static/")
        statuses = []
        for _ in range(2):
            status, got, _, _ = asgi_call(asgi, url, "GET", headers)
            statuses.append((status, dict(got).get("content-encoding")))
    # The asset is served without its delta; the rest of the manifest still counts.
    assert statuses == [(200, "br"), (200, "br")]
    dropped = [r for r in caplog.records if "manifest entry 'js/app.js' dropped" in r.getMessage()]
    assert len(dropped) == 1


def test_another_assets_delta_listed_under_an_asset_is_not_served_as_its_delta(
    tmp_path, deployed, caplog
):
    from staticmw import StaticMiddleware

    from ..helpers import fallback_app

    entry, old = deployed[1], deployed[2]
    (digest, listed), *_ = entry["deltas"].items()
    # A delta file of another asset (util.js), made a valid-looking delta name, listed under
    # app.js with the dictionary app.js's clients hold.
    foreign = "js/util.0123456789ab.js." + digest[:16] + ".dcz"

    def swap(app_entry):
        app_entry["deltas"] = {digest: {"file": foreign, "size": listed["size"]}}

    out = _tampered(tmp_path, deployed, swap)
    (out / foreign).write_bytes((out / listed["file"]).read_bytes())
    app = StaticMiddleware(fallback_app, out, prefix="/static/")
    headers = {"Accept-Encoding": BROWSER, "Available-Dictionary": held(old)}
    answer = get(app, "/static/" + entry["hashed"], headers)
    assert answer.status == 200 and answer.headers["content-encoding"] == "br"
    assert "is not a delta file name of" in caplog.text
