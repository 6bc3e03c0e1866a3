from __future__ import annotations

import os
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staticmw import StaticMiddleware
from staticmw.serve import paths
from staticmw.serve.paths import (
    MAX_LINK_HOPS,
    Resolver,
    decode_path,
    is_within,
    segment_is_safe,
    sidecar_original,
    split_request_path,
)

from ..helpers import call, fallback_app, write


@pytest.mark.parametrize(
    "relative",
    [
        "../etc/passwd",
        "a/../../etc/passwd",
        "./a",
        "a/./b",
        "a//b",
        "/a",
        "//",
        "a\\..\\b",
        "..\\windows\\win.ini",
        "c:/windows/win.ini",
        "C:",
        "a/file.txt::$DATA",
        "file.txt:stream",
        "CON",
        "con.txt",
        "Nul.tar.gz",
        "COM1",
        "lpt9.log",
        "com\u00b9",
        "CON .txt",
        "aux ",
        "conin$",
        "dir./x",
        "file.txt.",
        "file.txt ",
        "a\x00b",
        "a\nb",
        "a\x7fb",
        "a\x85b",
        "x<y",
        'x"y',
        "x|y",
        "x*y",
        "x?y",
        "\uff0e\uff0e/secret",  # fullwidth dots fold to ".."
        "\u2025",  # TWO DOT LEADER folds to ".." under NFKC
        "a\u2024",  # ONE DOT LEADER folds to a trailing "."
        ".env",
        ".git/config",
        "a/.hidden/b",
        "x" * 256,
        "a/" * 70 + "b",
    ],
)
def test_rejected_before_any_file_system_call(relative):
    assert split_request_path(relative) is None


# Raw PATH_INFO suffixes (bytes as latin-1 text, as a server passes them).
REJECTED = [
    "../secret.txt", "a/../../x", "a//b", "a\\b", "c:/x", "x::$DATA", "CON", "nul.txt", "x.",
    "x ", "a\x00b", ".env", "\uff0e\uff0e/x".encode().decode("latin-1"), "\xff\xfe",
    "\xc0\xae\xc0\xae/x", "x" * 100_000,
]  # fmt: skip


@pytest.mark.parametrize("relative", REJECTED)
def test_rejected_paths_touch_no_file(tmp_path, monkeypatch, relative):
    root = tmp_path / "root"
    root.mkdir()
    app = StaticMiddleware(fallback_app, root, prefix="/s/", index_file=True)

    def forbidden(*args, **kwargs):
        raise AssertionError("file system touched for a rejected path")

    for name in ("stat", "lstat", "open", "scandir", "listdir", "readlink"):
        monkeypatch.setattr(os, name, forbidden)
    monkeypatch.setattr(os.path, "realpath", forbidden)
    monkeypatch.setattr(paths, "_fast_open", forbidden)
    assert call(app, "/s/" + relative, raw=True).passed_through


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("app.css", (("app.css",), False)),
        ("a/b/c.js", (("a", "b", "c.js"), False)),
        ("docs/", (("docs",), True)),
        ("", ((), True)),
        ("caf\u00e9/na\u00efve.txt", (("caf\u00e9", "na\u00efve.txt"), False)),
        ("%2e%2e/x", (("%2e%2e", "x"), False)),  # never unquoted a second time
        ("console.log", (("console.log",), False)),  # not a device name
        ("a..b", (("a..b",), False)),
        ("...x", None),  # hidden
    ],
)
def test_accepted(relative, expected):
    assert split_request_path(relative) == expected


def test_hidden_allowed_on_request():
    assert split_request_path(".well-known/security.txt", serve_hidden=True) == (
        (".well-known", "security.txt"),
        False,
    )
    assert not segment_is_safe("..", serve_hidden=True)
    assert not segment_is_safe("\uff0eenv")  # folds to ".env"


def test_decode_path_is_strict_utf8():
    assert decode_path("caf\u00c3\u00a9") == "caf\u00e9"
    assert decode_path("\u00ff\u00fe") is None  # invalid UTF-8 bytes
    assert decode_path("\u0100") is None  # not a PEP 3333 string at all
    assert decode_path("\u00c0\u00ae") is None  # overlong "." encoding


def test_containment_is_segment_aware():
    assert is_within("/srv/static/a", "/srv/static")
    assert is_within("/srv/static", "/srv/static")
    assert not is_within("/srv/static2/a", "/srv/static")
    assert not is_within("/srv/stati", "/srv/static")
    assert is_within("/x", "/")


def test_sidecar_original():
    assert sidecar_original("app.css.gz") == "app.css"
    assert sidecar_original("app.css.BR") == "app.css"
    assert sidecar_original("a.zstd") == "a"
    assert sidecar_original("a.zst") == "a"
    assert sidecar_original(".gz") is None
    assert sidecar_original("app.css") is None


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    write(root / "ok.txt", b"ok")
    write(root / "sub" / "inner.txt", b"inner")
    write(root / ".hidden", b"HIDDEN-CONTENT")
    write(tmp_path / "root2" / "evil.txt", b"EVIL")  # shares a string prefix with root
    write(tmp_path / "outside.txt", b"OUTSIDE")
    os.symlink(tmp_path / "outside.txt", root / "escape.txt")
    os.symlink(tmp_path / "root2", root / "escape_dir")
    os.symlink(root / "ok.txt", root / "inside_link.txt")
    os.symlink(root / ".hidden", root / "to_hidden.txt")
    os.symlink("/etc", root / "etc")
    os.mkfifo(root / "fifo")
    return tmp_path


def _opened_path(resolver, root, relative):
    opened = resolver.open(root, relative.split("/") if relative else ())
    if opened is None:
        return None
    opened.close()
    return opened.path


def test_resolver_follows_links_only_inside_roots(tree, resolve_mode):
    root = os.path.realpath(tree / "root")
    os.symlink("sub", os.path.join(root, "sub_link"))
    os.symlink("sub/../ok.txt", os.path.join(root, "dotdot_link.txt"))
    os.symlink("../root/ok.txt", os.path.join(root, "up_and_back.txt"))
    os.symlink("../outside.txt", os.path.join(root, "up_and_out.txt"))
    os.symlink("loop_b", os.path.join(root, "loop_a"))
    os.symlink("loop_a", os.path.join(root, "loop_b"))
    os.symlink("missing", os.path.join(root, "dangling"))
    resolver = Resolver([root])
    ok = os.path.join(root, "ok.txt")
    assert _opened_path(resolver, root, "ok.txt") == ok
    assert _opened_path(resolver, root, "inside_link.txt") == ok
    assert _opened_path(resolver, root, "dotdot_link.txt") == ok
    assert _opened_path(resolver, root, "up_and_back.txt") == ok
    assert _opened_path(resolver, root, "sub_link/inner.txt") == os.path.join(
        root, "sub", "inner.txt"
    )
    assert _opened_path(resolver, root, "") == root  # the root itself, a directory
    for refused in (
        "escape.txt",
        "escape_dir/evil.txt",
        "etc/passwd",
        "to_hidden.txt",
        "up_and_out.txt",
        "loop_a",
        "dangling",
        "fifo",  # never a FIFO or device
        "missing",
        "ok.txt/x",
    ):
        assert _opened_path(resolver, root, refused) is None, refused
    # opening the descriptor is the proof: its bytes are the file's
    opened = resolver.open(root, ["inside_link.txt"])
    assert os.read(opened.fd, 10) == b"ok"
    opened.close()
    # opting in follows links anywhere
    assert _opened_path(Resolver([root], follow_symlinks=True), root, "escape.txt").endswith(
        "escape.txt"
    )
    # a second allowed root makes a link into it fine, by any route
    both = Resolver([root, os.path.realpath(tree / "root2")])
    assert _opened_path(both, root, "escape_dir/evil.txt") == os.path.realpath(
        tree / "root2" / "evil.txt"
    )
    # a link to a hidden file is fine once hidden files are
    assert _opened_path(Resolver([root], serve_hidden=True), root, "to_hidden.txt") == (
        os.path.join(root, ".hidden")
    )


def test_resolver_hop_limit(tmp_path, resolve_mode):
    root = os.path.realpath(tmp_path)
    write(tmp_path / "f0", b"end")
    for i in range(1, MAX_LINK_HOPS + 2):
        os.symlink(f"f{i - 1}", tmp_path / f"f{i}")
    resolver = Resolver([root])
    assert _opened_path(resolver, root, f"f{MAX_LINK_HOPS}") == os.path.join(root, "f0")
    assert _opened_path(resolver, root, f"f{MAX_LINK_HOPS + 1}") is None


def test_resolver_reopen_checks_again(tree, resolve_mode):
    root = os.path.realpath(tree / "root")
    resolver = Resolver([root])
    path = _opened_path(resolver, root, "sub/inner.txt")
    fd = resolver.reopen(path)
    assert os.read(fd, 10) == b"inner"
    os.close(fd)
    # the directory becomes a link out of the root: the same name opens nothing
    os.rename(os.path.join(root, "sub"), tree / "moved")
    write(tree / "elsewhere" / "inner.txt", b"OUTSIDE")
    os.symlink(tree / "elsewhere", os.path.join(root, "sub"))
    assert resolver.reopen(path) is None
    assert resolver.reopen(str(tree / "outside.txt")) is None


def test_resolver_never_trusts_dot_names(tree, resolve_mode):
    root = os.path.realpath(tree / "root")
    resolver = Resolver([root])
    assert resolver.open(root, ["..", "outside.txt"]) is None
    assert resolver.open(root, ["sub", "..", "..", "outside.txt"]) is None
    assert resolver.open(root, ["sub/../../outside.txt"]) is None
    assert resolver.reopen(os.path.join(root, "..", "outside.txt")) is None
    hidden_ok = Resolver([root], serve_hidden=True)
    assert hidden_ok.open(root, ["..", "outside.txt"]) is None
    assert _opened_path(hidden_ok, root, ".hidden") == os.path.join(root, ".hidden")


def test_without_directory_descriptors_names_are_checked(tree, monkeypatch):
    """Where open() takes no dir_fd (Windows), links are still resolved and checked."""
    monkeypatch.setattr(paths, "_HAS_DIR_FD", False)
    root = os.path.realpath(tree / "root")
    resolver = Resolver([root])
    assert _opened_path(resolver, root, "inside_link.txt") == os.path.join(root, "ok.txt")
    for refused in ("escape.txt", "escape_dir/evil.txt", "to_hidden.txt", "missing"):
        assert _opened_path(resolver, root, refused) is None, refused


def test_resolver_reports_server_errors(tree, resolve_mode):
    root = os.path.realpath(tree / "root")
    write(tree / "root" / "locked" / "f.txt", b"x")
    os.chmod(tree / "root" / "locked" / "f.txt", 0)
    resolver = Resolver([root])
    if os.geteuid() != 0:  # root reads anything
        with pytest.raises(PermissionError):
            resolver.open(root, ["locked", "f.txt"])
    assert resolver.open(root, ["locked", "nothing"]) is None


# --- property: whatever the request path, nothing outside the roots ------------

TOKENS = [
    "..",
    ".",
    "",
    "%2e",
    "%2e%2e",
    "%2E%2e",
    "%252e%252e",
    "%2f",
    "%5c",
    "\\",
    "..\\",
    "C:",
    "c:",
    "CON",
    "nul.txt",
    "%00",
    "%0a",
    "\uff0e\uff0e",
    "%c0%ae%c0%ae",
    "%e2%80%ae",
    "ok.txt",
    "sub",
    "inner.txt",
    "escape.txt",
    "escape_dir",
    "evil.txt",
    "etc",
    "passwd",
    ".hidden",
    "to_hidden.txt",
    "inside_link.txt",
    "root",
    "root2",
    "outside.txt",
    "fifo",
    "~1",
    "a b",
    "caf\u00e9",
    ";",
    "%3b",
]
segments = st.one_of(st.sampled_from(TOKENS), st.text(max_size=6))
request_paths = st.builds(
    lambda parts, lead, trail: lead + "/".join(parts) + trail,
    st.lists(segments, max_size=6),
    st.sampled_from(["", "/", "//", "\\"]),
    st.sampled_from(["", "/"]),
)


def server_decode(url_path: str) -> str:
    """What a WSGI server puts in PATH_INFO: percent-decoded bytes as latin-1 text."""
    return unquote_to_bytes(url_path).decode("latin-1")


@given(path=request_paths, autorefresh=st.booleans(), index=st.booleans())
def test_nothing_outside_the_roots(tree, path, autorefresh, index):
    root = tree / "root"
    app = StaticMiddleware(
        fallback_app, root, prefix="/s/", autorefresh=autorefresh, index_file=index
    )
    real_root = os.path.realpath(root)
    for path_info in {
        server_decode("/s/" + path),
        "/s/" + path.encode("utf-8", "surrogatepass").decode("latin-1"),
    }:
        found = app.lookup(path_info)
        if found is not None and hasattr(found, "representations"):
            for rep in found.representations:
                assert is_within(rep.path, real_root)
                assert not any(
                    part.startswith(".") for part in rep.path[len(real_root) :].split(os.sep)
                )
        result = call(app, path_info, raw=True)
        assert result.status < 500
        assert b"OUTSIDE" not in result.body
        assert b"EVIL" not in result.body
        assert b"HIDDEN-CONTENT" not in result.body
        if not result.passed_through:
            assert result.status in (200, 301)


# -- Gaps a mutation run found: each test fails with the mutant named in its docstring ------


def _read(opened) -> bytes:
    try:
        return os.pread(opened.fd, 1024, 0)
    finally:
        opened.close()


def test_the_walk_opens_two_directories_down_relative_to_the_last(tmp_path):
    """Mutant: the walk opens each component relative to the first directory it entered
    instead of the last, so ``a/b/c.txt`` would be ``a/c.txt``."""
    root = tmp_path / "root"
    write(root / "a" / "b" / "c.txt", b"deep")
    write(root / "a" / "c.txt", b"shallow")
    write(root / "a" / "b" / "d" / "e.txt", b"deeper")
    old = paths.use_fast_open(False)
    try:
        resolver = Resolver([str(root)])
        opened = resolver.open(str(root), ["a", "b", "c.txt"])
        assert opened is not None and opened.path == str(root / "a" / "b" / "c.txt")
        assert _read(opened) == b"deep"
        assert _read(resolver.open(str(root), ["a", "b", "d", "e.txt"])) == b"deeper"
    finally:
        paths.use_fast_open(old)


def test_a_held_file_that_gained_a_hard_link_is_not_reopened(tmp_path):
    """Mutant: :meth:`Resolver.reopen` skips the hard-link rule, so a file given a second
    name after it was first served is sent again from a root that refuses hard links."""
    root = tmp_path / "uploads"
    write(root / "f.txt", b"mine")
    resolver = Resolver([str(root)], single_link_roots=[str(root)])
    opened = resolver.open(str(root), ["f.txt"])
    assert opened is not None
    opened.close()
    fd = resolver.reopen(opened.path)
    assert fd is not None
    os.close(fd)
    os.link(root / "f.txt", tmp_path / "second-name.txt")
    assert resolver.reopen(opened.path) is None


def test_a_directory_in_a_single_link_root_is_served(tmp_path):
    """Mutant: the hard-link rule refuses directories too (they always have two or more
    links), which would refuse every index page of such a root."""
    root = tmp_path / "uploads"
    write(root / "docs" / "index.html", b"<h1>docs</h1>")
    resolver = Resolver([str(root)], single_link_roots=[str(root)])
    opened = resolver.open(str(root), ["docs"])
    assert opened is not None and opened.is_dir
    opened.close()
    app = StaticMiddleware(fallback_app, str(root), "/u/", index_file=True, allow_hard_links=False)
    assert call(app, "/u/docs/").body == b"<h1>docs</h1>"


def test_unicode_folding_refuses_a_slash_and_accepts_a_plain_name():
    """Mutants: the NFKC check dropped (``a`` FULLWIDTH SOLIDUS ``b`` would pass) or made
    to refuse any segment that folds at all (the ligature ``fi`` + ``le.txt``, which folds
    to ``file.txt``, would not)."""
    assert segment_is_safe("a\uff0fb") is False  # FULLWIDTH SOLIDUS folds to "/"
    assert segment_is_safe("\uff0e\uff0e") is False  # fullwidth ".." folds to ".."
    assert segment_is_safe("\ufb01le.txt") is True  # LATIN SMALL LIGATURE FI
    assert split_request_path("x/\ufb01le.txt") == (("x", "\ufb01le.txt"), False)


def test_the_walk_follows_at_most_forty_links(tmp_path):
    """Mutant: the walk never counts the links it follows; a loop made between the first
    ``stat`` and the walk would then hang a worker. A chain of 40 links resolves, 41 not."""
    root = tmp_path / "root"
    write(root / "target.txt", b"end")
    for length in (40, 41):
        chain = root / f"chain{length}"
        chain.mkdir()
        os.symlink("../target.txt", chain / "l0")
        for n in range(1, length):
            os.symlink(f"l{n - 1}", chain / f"l{n}")
    old = paths.use_fast_open(False)
    try:
        walk = paths._Walk([str(root)], hidden_ok=False)
        found = walk.run(str(root), ["chain40", "l39"])
        assert found is not None and found[1] == str(root / "target.txt")
        os.close(found[0])
        assert paths._Walk([str(root)], hidden_ok=False).run(str(root), ["chain41", "l40"]) is None
        os.symlink("loop", root / "loop")
        assert paths._Walk([str(root)], hidden_ok=False).run(str(root), ["loop"]) is None
    finally:
        paths.use_fast_open(old)


def test_following_links_in_a_single_link_root_serves_a_regular_file(tmp_path):
    """Mutant: the hard-link rule fails (raises) when links are followed, the one branch
    that looks the name up by path rather than through the walk."""
    root = tmp_path / "uploads"
    write(root / "f.txt", b"plain")
    resolver = Resolver([str(root)], follow_symlinks=True, single_link_roots=[str(root)])
    assert _read(resolver.open(str(root), ["f.txt"])) == b"plain"
    os.link(root / "f.txt", root / "g.txt")
    assert resolver.open(str(root), ["f.txt"]) is None


@pytest.mark.parametrize(
    ("relative", "allowed"),
    [
        ("a" * 255, True),
        ("a" * 256, False),
        ("/".join(["a"] * 64), True),
        ("/".join(["a"] * 65), False),
        ("/".join(["b" * 254] * 16) + "/" + "c" * 16, True),  # 4,096 characters
        ("/".join(["b" * 254] * 16) + "/" + "c" * 17, False),  # 4,097
    ],
)
def test_the_limits_sit_where_they_are_documented(relative, allowed):
    """Mutants: any change to the 255-character segment, 64-segment or 4,096-character
    path limits; the values are written out here, not taken from the constants."""
    if relative.startswith("b"):
        assert len(relative) in (4096, 4097)
    assert (split_request_path(relative) is not None) is allowed
