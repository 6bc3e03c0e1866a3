"""The JavaScript scanner: module specifiers, and nothing that only looks like one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staticmw.build.jsscan import rewrite, scan
from staticmw.build.rewrite import find_references

from ..helpers import best_time, within

# (source, the specifiers it holds, in order)
TABLE = [
    ('import { a } from "./a.js";', ["./a.js"]),
    ("import a, { b as c } from './b.js'", ["./b.js"]),
    ('import * as ns from "./ns.js";', ["./ns.js"]),
    ('import "./side.js";', ["./side.js"]),
    ('export { x } from "./x.js";', ["./x.js"]),
    ('export * from "./all.js"; export * as n from "./n.js";', ["./all.js", "./n.js"]),
    ('const m = await import("./lazy.js");', ["./lazy.js"]),
    ('import data from "./d.json" with { type: "json" };', ["./d.json"]),
    ('import { Chart } from "chart";', ["chart"]),  # bare: found, left to the caller
    # only look-alikes
    ('// import { a } from "./comment.js";', []),
    ('/* import "./block.js"; */', []),
    ("const s = \"import x from './string.js'\";", []),
    ("const t = `import x from './template.js'`;", []),
    ('const t = `${import.meta.url} and "./not.js"`;', []),
    ('const u = new URL("./x.png", import.meta.url);', ["./x.png"]),
    ("new Worker(new URL('./w.js', import.meta.url), { type: 'module' });", ["./w.js"]),
    # a URL resolved against anything else, or built at run time: not the module's file
    ('new URL("./x.png", document.baseURI); new URL("./y.png");', []),
    ('new URL("./x" + ext, import.meta.url); URL("./z.png", import.meta.url);', []),
    ("const v = new URL(`./t.png`, import.meta.url);", []),
    ("const re = /import \"x\" from '\\/y'/g;", []),
    ('const q = a / 2; const r = b / 3; import "./after-division.js";', ["./after-division.js"]),
    ('if (x) { y(); } /import "z"/.test(s); import "./real.js";', ["./real.js"]),
    ('obj.import("./method.js"); obj?.import("./m2.js");', []),
    ('export const from = "./value.js";', []),
    ('export { a };\nimport "./next.js";', ["./next.js"]),
    ('const t = `a ${ `b ${ "x" } c` } d`; import "./nested.js";', ["./nested.js"]),
    ('import(variable); import("./" + name);', []),
    ('import "./esc\\u0061ped.js";', []),  # escapes: left alone
    # a stylesheet held in a script: "@import" is never the keyword
    ("const css = '@import \"./x.css\";'; x = y @import './z.css';", []),
    ('...import("./spread.js")', ["./spread.js"]),
]


@pytest.mark.parametrize(("source", "expected"), TABLE)
def test_specifiers(source, expected):
    assert [s.value for s in scan(source)] == expected


def test_offsets_lines_and_kinds():
    source = (
        'import a from "./a.js";\n\nexport * from "./b.js";\nimport("./c.js");\nimport "./d.js";'
        '\nnew URL("./e.png", import.meta.url);'
    )
    found = scan(source)
    assert [(s.value, s.line, s.kind) for s in found] == [
        ("./a.js", 1, "import"),
        ("./b.js", 3, "export"),
        ("./c.js", 4, "dynamic"),
        ("./d.js", 5, "side-effect"),
        ("./e.png", 6, "url"),
    ]
    for s in found:
        assert source[s.start : s.end] in (f'"{s.value}"', f"'{s.value}'")


def test_rewrite_keeps_quotes_and_everything_else():
    source = "import a from './a.js'; // import './a.js'\nconst s = \"./a.js\";"
    out = rewrite(source, lambda s: "./a.0123456789ab.js")
    assert out == "import a from './a.0123456789ab.js'; // import './a.js'\nconst s = \"./a.js\";"
    assert rewrite(source, lambda s: None) == source
    with pytest.raises(ValueError, match="cannot write"):
        rewrite(source, lambda s: "./it's.js")


def test_unterminated_input_does_not_raise():
    for source in ('import "./a.js', "const t = `${", "/* open", "const r = /abc", "'"):
        scan(source)


# -- property: a rewrite changes the specifiers it names, and no other token -----------

_NOISE = st.sampled_from(
    [
        "// import './c.js'\n",
        "/* export * from './d.js' */",
        "const s = 'import \"./e.js\"';\n",
        "const t = `x ${a + `import './f.js'`} y`;\n",
        'const r = /from "g"/;\n',
        "x = y / z / w;\n",
        "if (a) { b(); }\n",
        "obj.import('./h.js');\n",
        "\n",
    ]
)
_NAMES = st.from_regex(r"\./[a-z]{1,8}\.js", fullmatch=True)


@given(st.lists(st.one_of(_NOISE, _NAMES.map(lambda n: ("real", n))), max_size=12))
def test_rewrite_changes_only_the_real_specifiers(parts):
    pieces, expected = [], []
    for part in parts:
        if isinstance(part, tuple):
            pieces.append(f'import "{part[1]}";\n')
            expected.append(part[1])
        else:
            pieces.append(part)
    source = "".join(pieces)
    assert [s.value for s in scan(source)] == expected
    out = rewrite(source, lambda s: s.value.replace(".js", ".0123456789ab.js"))
    want = "".join(
        f'import "{p[1].replace(".js", ".0123456789ab.js")}";\n' if isinstance(p, tuple) else p
        for p in parts
    )
    assert out == want


@given(st.text(max_size=300))
def test_any_text_scans_to_string_literals_inside_it(text):
    for s in scan(text):
        assert 0 <= s.start < s.end <= len(text)
        assert text[s.start] in "'\"" and text[s.end - 1] == text[s.start]


# -- linear on crafted or broken input -------------------------------------------------------

MB = 1 << 20
# An ordinary module of 1 MB: one import, then code the lexer must read through.
PLAIN_JS = (b'import a from "./a.js";\n' + b"const b = f(1, 'x'); // note\n" * (MB // 30))[:MB]
LIMIT = 6


def _scan(data: bytes) -> None:
    find_references("x.js", data)


@pytest.fixture(scope="module")
def plain_seconds() -> float:
    return best_time(_scan, PLAIN_JS)


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(b'import a from "./a.js";\n', id="a-specifier-on-every-line"),
        pytest.param(b"import a\n", id="import-without-from"),
        pytest.param(b"import {\n", id="unclosed-braces"),
        pytest.param(b"export * as import ", id="import-as-a-name"),
    ],
)
def test_a_crafted_megabyte_scans_like_an_ordinary_one(hostile, plain_seconds):
    data = (hostile * (MB // len(hostile) + 1))[:MB]
    ratio = within(_scan, data, plain_seconds, LIMIT)
    assert ratio < LIMIT, f"{ratio:.1f} times an ordinary module"


@pytest.mark.parametrize("opener", [b"/*", b"`", b"'", b"/["])
def test_an_unclosed_comment_or_literal_costs_no_more_than_code(opener, plain_seconds):
    data = b'import a from "./a.js";\n' + opener + PLAIN_JS[: MB - 30]
    ratio = within(_scan, data, plain_seconds, LIMIT)
    assert ratio < LIMIT, f"{ratio:.1f} times an ordinary module"
