from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staticmw.build.rewrite import (
    find_references,
    local_target,
    module_specifiers,
    replace_path,
    rewrite,
)

from ..helpers import best_time, within


def urls(name: str, text: str) -> list[str]:
    return [ref.url for ref in find_references(name, text.encode())]


def test_css_url_forms():
    css = """
    a { background: url(a.png); }
    b { background: url( 'b c.png' ); }
    c { background: URL("c.png?v=1#frag"); }
    @import "d.css";
    @import 'e.css' screen;
    @import url(f.css);
    @font-face { src: url(font.woff2) format("woff2"), url("font.woff") format("woff"); }
    """
    assert urls("x.css", css) == [
        "a.png", "b c.png", "c.png?v=1#frag", "d.css", "e.css", "f.css", "font.woff2", "font.woff",
    ]  # fmt: skip


def test_comments_are_skipped_but_source_maps_count():
    css = (
        "/* url(skip.png) @import 'skip.css'; */ a{background:url(keep.png)}\n"
        "/*# sourceMappingURL=x.css.map */"
    )
    assert urls("x.css", css) == ["keep.png", "x.css.map"]
    js = (
        "const s = '//# sourceMappingURL=not-at-line-start';\n"
        "run();\n//# sourceMappingURL=app.js.map\n"
    )
    assert urls("app.js", js) == ["app.js.map"]
    assert urls("app.mjs", "//@ sourceMappingURL=old.map") == ["old.map"]
    assert urls("image.svg", "url(x.png)") == []  # only CSS and JS are rewritten


def test_line_numbers():
    refs = find_references("x.css", b"a{}\n\nb{background:url(b.png)}\n")
    assert refs[0].line == 3


@pytest.mark.parametrize(
    ("referrer", "url", "target"),
    [
        ("css/app.css", "../img/a.png", "img/a.png"),
        ("css/app.css", "a.png", "css/a.png"),
        ("css/app.css", "./sub/../a.png?x#y", "css/a.png"),
        ("css/app.css", "my%20img.png", "css/my img.png"),
        ("app.css", "../../etc/passwd", ""),  # climbs out of the root: broken
        ("css/app.css", "data:image/png;base64,AAAA", None),
        ("css/app.css", "https://cdn.example.com/a.png", None),
        ("css/app.css", "//cdn.example.com/a.png", None),
        ("css/app.css", "/static/a.png", None),
        ("css/app.css", "#filter", None),
        ("css/app.css", "?query-only", None),
        ("css/app.css", "//cd[.css", None),  # urlsplit raises on this: left alone, no crash
    ],
)
def test_local_target(referrer, url, target):
    assert local_target(referrer, url) == target


@pytest.mark.parametrize(
    ("url", "hashed", "expected"),
    [
        ("a.png", "a.1234567890ab.png", "a.1234567890ab.png"),
        ("../img/a.png?v=1#x", "a.1234567890ab.png", "../img/a.1234567890ab.png?v=1#x"),
        ("font.eot?#iefix", "font.1234567890ab.eot", "font.1234567890ab.eot?#iefix"),
        ("./a.png", "a.1234567890ab.png", "./a.1234567890ab.png"),
        ("my%20img.png", "my img.1234567890ab.png", "my%20img.1234567890ab.png"),
    ],
)
def test_replace_path(url, hashed, expected):
    assert replace_path(url, hashed) == expected


def test_rewrite_keeps_quotes_and_everything_else():
    css = b"""a{background:url("x.png")} b{background:url('y.png')} c{background:url(z.png)}"""
    refs = find_references("a.css", css)
    out = rewrite(
        css, refs, lambda ref: None if ref.url == "y.png" else ref.url.replace(".png", ".h.png")
    )
    assert (
        out
        == b"""a{background:url("x.h.png")} b{background:url('y.png')} c{background:url(z.h.png)}"""
    )


names = st.from_regex(r"[a-z][a-z0-9_-]{0,8}\.(png|css|woff2)", fullmatch=True)
suffixes = st.sampled_from(["", "?v=1", "#frag", "?a=b#c"])
quotes = st.sampled_from(["", "'", '"'])


@given(name=names, suffix=suffixes, quote=quotes, pad=st.sampled_from(["", " ", "\n"]))
def test_every_url_form_is_found_and_rewritten(name, suffix, quote, pad):
    url = "../img/" + name + suffix
    css = f"x{{background:url({pad}{quote}{url}{quote}{pad})}}".encode()
    refs = find_references("css/a.css", css)
    assert [ref.url for ref in refs] == [url]
    assert local_target("css/a.css", url) == "img/" + name
    out = rewrite(css, refs, lambda ref: replace_path(ref.url, "HASHED"))
    assert out == f"x{{background:url({pad}{quote}../img/HASHED{suffix}{quote}{pad})}}".encode()


# -- linear on crafted or broken input -------------------------------------------------------

MB = 1 << 20
# An ordinary stylesheet of 1 MB, with a reference on every rule.
PLAIN_CSS = (b"a.x { color: red; background: url(img/a.png) no-repeat }\n" * (MB // 56 + 1))[:MB]
LIMIT = 6


def _scan(data: bytes) -> None:
    find_references("x.css", data)


@pytest.fixture(scope="module")
def plain_seconds() -> float:
    return best_time(_scan, PLAIN_CSS)


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(b"/* x ", id="unclosed-comments"),
        pytest.param(b"url(", id="unclosed-urls"),
        pytest.param(b'url("', id="unclosed-quoted-urls"),
        pytest.param(b"url(a", id="unclosed-bare-urls"),
        pytest.param(b"@import ", id="imports-without-a-url"),
        pytest.param(b"/*# sourceMappingURL=a", id="unclosed-source-maps"),
        pytest.param(b"a{background:url(x.png)}\n", id="a-reference-on-every-line"),
    ],
)
def test_a_crafted_megabyte_scans_like_an_ordinary_one(hostile, plain_seconds):
    data = (hostile * (MB // len(hostile) + 1))[:MB]
    ratio = within(_scan, data, plain_seconds, LIMIT)
    assert ratio < LIMIT, f"{ratio:.1f} times an ordinary stylesheet"


@pytest.mark.parametrize("opener", [b"url(", b"/*", b"url( ", b"@import"])
@pytest.mark.parametrize("filler", [b" ", b"a", b"*"])
def test_one_unclosed_construct_before_a_megabyte_of_text(opener, filler, plain_seconds):
    data = opener + filler * (MB - len(opener))
    ratio = within(_scan, data, plain_seconds, LIMIT)
    assert ratio < LIMIT, f"{ratio:.1f} times an ordinary stylesheet"


def test_the_unambiguous_url_pattern_finds_what_it_found_before():
    css = (
        b"a{background:url( \"x.png\" )} b{background:url('y.png')} c{background:url( z.png )}"
        b" d{background:url()} e{background:url( )} /* url(no.png) */ @import 'i.css';"
    )
    assert [r.url for r in find_references("s.css", css)] == ["x.png", "y.png", "z.png", "i.css"]
    assert [r.line for r in find_references("s.css", b"\n\nurl(a.png)\nurl(b.png)")] == [3, 4]


def test_a_script_without_an_import_or_export_keyword_is_not_lexed(monkeypatch):
    """jQuery's ``module.exports`` and an ``imported`` variable are not keywords: the file
    is not lexed (the lexer, patched to fail, is never called); a real one always is."""
    from staticmw.build import jsscan

    def refuse(text):
        raise AssertionError("lexed")

    monkeypatch.setattr(jsscan, "scan", refuse)
    plain = b"module.exports = factory(); var imported = 1; exports.x = 2; // reimport\n"
    # what large bundles hold: a stylesheet's "@import", a path ending in "export", a method
    bundled = (
        b"d.createTextNode('@import \"'.concat(href, '\"'));"
        b" var e = require('../internals/export'); a.import(b); c?.export(d);"
    )
    for text in (plain, bundled):
        assert module_specifiers(text) == []
    for module in (
        b'export{a}from"./b.js"',
        b'import("./c.js")',
        b"x;import*as y from'./d.js'",
        b"/**/export/**/*from'./e.js'",
        b"f(...import('./g.js'))",
        b'new URL("./h.png",import.meta.url)',
        "\u00a0import './i.js'".encode(),
    ):
        with pytest.raises(AssertionError, match="lexed"):
            module_specifiers(module)


# Text around an "import" or "export": pieces of every kind of character the rule looks at,
# then an ending that makes a specifier when the keyword is real.
_PIECES = st.sampled_from(
    ["import", "export", "from", "as", "x", "1", "$", "\\", "\u00a0", "\u2028", "\ufeff",
     "é", " ", "\n", ".", "...", "?.", "@", "#", "'", '"', "`", "``", "/", "*", "//", "/*",
     "*/", "/**/", "(", ")", "{", "}", ",", ";", "=", "-"]
)  # fmt: skip
_ENDINGS = st.sampled_from(
    ["'./a.js'", '("./a.js")', "{a}from'./a.js'", "*from'./a.js'", "a from'./a.js'",
     "* as a from'./a.js'", ".meta.url"]
)  # fmt: skip


@settings(max_examples=1000)
@given(
    st.lists(_PIECES, max_size=3),
    st.sampled_from(["import", "export", "new URL('./a.js',import"]),
    st.lists(_PIECES, max_size=1),
    _ENDINGS,
    st.lists(_PIECES, max_size=3),
)
def test_a_file_the_keyword_rule_skips_holds_no_specifier(before, keyword, between, end, after):
    """The rule that spares a file the lexer never spares one with a specifier in it: the
    lexer finds nothing in any text the rule turns away."""
    from staticmw.build import jsscan

    text = "".join([*before, keyword, *between, end, ")" if "URL" in keyword else "", *after])
    if module_specifiers(text.encode("utf-8")) == []:
        assert jsscan.scan(text) == []
