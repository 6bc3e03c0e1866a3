"""The command line's own argument handling: one-line errors, never a traceback."""

from __future__ import annotations

import pytest

from staticmw.cli import commands as cli


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--port", "99999"], "99999 is not a port: use 0 to 65535"),
        (["--port", "-1"], "-1 is not a port"),
        (["--port", "http"], "'http' is not a port number"),
        (["--host", "no such host!"], "is neither an IP address nor a known host"),
    ],
)
def test_serve_rejects_bad_ports_and_hosts(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", str(tmp_path), *arguments])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_serve_accepts_addresses_and_names():
    assert cli._port("0") == 0 and cli._port("65535") == 65535
    for host in ("127.0.0.1", "::1", "0.0.0.0", "localhost"):
        assert cli._host(host) == host


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--jobs", "0"], "argument --jobs: 0 is too small: use 1 or more"),
        (["--jobs", "-3"], "argument --jobs: -3 is too small"),
        (["--jobs", "two"], "argument --jobs: 'two' is not a whole number"),
    ],
)
def test_build_rejects_bad_job_counts(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit) as exited:
        cli.main(["build", str(tmp_path), "--out", str(tmp_path / "out"), *arguments])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["build", "serve", "check"])
def test_an_unknown_flag_shows_the_subcommands_usage(tmp_path, capsys, command):
    arguments = {"build": [str(tmp_path), "--out", str(tmp_path / "o")], "serve": [str(tmp_path)]}
    with pytest.raises(SystemExit) as exited:
        cli.main([command, *arguments.get(command, []), "--no-such-flag"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"usage: staticmw {command} " in err
    assert f"staticmw {command}: error: unrecognized arguments: --no-such-flag" in err


def test_quiet_has_a_short_form_and_the_help_names_both_interfaces(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.css").write_text("a { color: red }\n")
    assert cli.main(["build", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert (tmp_path / "out" / "a.css").is_file()
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "WSGI and ASGI apps" in capsys.readouterr().out


def test_compress_a_directory_in_place(tmp_path, capsys):
    import gzip
    import os

    import brotli

    site = tmp_path / "site"
    css = b"body { margin: 0 auto; color: #333; }\n" * 200
    files = {
        "css/app.css": css,
        "js/tiny.js": os.urandom(64),  # cannot shrink by 5%: no variant
        "img/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(4000),  # already compressed media
        "css/app.css.map": b'{"version": 3, "mappings": ""}' * 100,
        "old.txt.gz": gzip.compress(b"x" * 5000),  # a variant: never compressed again
        ".private/notes.txt": b"notes " * 500,
    }
    for name, data in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(data)
    (site / "linked.css").symlink_to(site / "css" / "app.css")
    argv = ["compress", str(site), "--codecs", "gzip,br", "--skip-extension", "map"]
    assert cli.main(argv) == 0
    assert "2 variants written" in capsys.readouterr().out
    assert gzip.decompress((site / "css/app.css.gz").read_bytes()) == css
    assert brotli.decompress((site / "css/app.css.br").read_bytes()) == css
    made = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    expected = [*files, "css/app.css.gz", "css/app.css.br", ".staticmw-compressed.json"]
    assert made == sorted([*expected, "linked.css"])  # a symlink is never followed
    # reproducible, and a second run compresses nothing
    first = (site / "css/app.css.gz").read_bytes()
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == (
        "0 variants written, 2 files unchanged since the last run, 1 not worth compressing, "
        "1 skipped by --skip-extension\n"
    )
    (site / "css/app.css.gz").unlink()
    assert cli.main([*argv, "-q"]) == 0 and capsys.readouterr().out == ""
    assert (site / "css/app.css.gz").read_bytes() == first


def test_compress_with_fewer_codecs_leaves_no_variant_of_the_old_bytes(tmp_path, capsys):
    """An earlier run with every codec, the file changed, then ``--codecs gzip,br``: the
    old ``.zst`` goes with it, so a zstd client never gets the old stylesheet."""
    import gzip

    site = tmp_path / "site"
    site.mkdir()
    (site / "app.css").write_bytes(b"body { color: red; }\n" * 200)
    (site / "same.css").write_bytes(b"p { margin: 0; }\n" * 200)
    assert cli.main(["compress", str(site), "--codecs", "gzip,br,zstd"]) == 0
    assert (site / "app.css.zst").is_file() and (site / "same.css.zst").is_file()
    capsys.readouterr()
    (site / "app.css").write_bytes(b"body { color: blue; }\n" * 200)
    assert cli.main(["compress", str(site), "--codecs", "gzip,br"]) == 0
    assert capsys.readouterr().out == (
        "4 variants written, 0 files unchanged since the last run, 0 not worth compressing, "
        "2 variants of codecs not asked for removed\n"
    )
    assert not (site / "app.css.zst").exists() and not (site / "same.css.zst").exists()
    assert gzip.decompress((site / "app.css.gz").read_bytes()).startswith(b"body { color: blue")
    # The record now says what is there: the next run with the same codecs does nothing.
    assert cli.main(["compress", str(site), "--codecs", "gzip,br"]) == 0
    assert capsys.readouterr().out.startswith("0 variants written, 2 files unchanged")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nowhere"], "nowhere does not exist (resolved to"),
        (["."], "unknown codec 'lzma'"),
        (["--jobs", "0", "."], "argument --jobs: 0 is too small"),
    ],
)
def test_compress_refuses_bad_usage(tmp_path, monkeypatch, capsys, arguments, message):
    monkeypatch.chdir(tmp_path)
    extra = ["--codecs", "lzma"] if message.startswith("unknown codec") else []
    try:
        status = cli.main(["compress", *arguments, *extra])
    except SystemExit as exited:
        status = exited.code
    assert status == 2
    assert message in capsys.readouterr().err


def test_both_build_commands_are_made_from_one_option_table(tmp_path):
    """``staticmw build`` and ``flask staticmw build`` take the same options, with the same
    checks, from one table; Flask's now takes --keep, --history, --jobs and the rest."""
    from flask import Flask

    from staticmw.build.options import SHARED
    from staticmw.integrations.flask import StaticMW

    from ..helpers import write

    build_parser = cli._parser()._subparsers._group_actions[0].choices["build"]
    parser_flags = set(build_parser._option_string_actions)
    for option in SHARED:
        assert option.flag in parser_flags
    write(tmp_path / "static" / "css" / "a.css", b"body { color: red }\n" * 100)
    app = Flask("shared", static_folder=str(tmp_path / "static"))
    app.config["STATICMW_ROOT"] = str(tmp_path / "built")
    StaticMW(app)
    runner = app.test_cli_runner()
    args = ["staticmw", "build", "--prune", "--keep", "1", "--jobs", "1", "--codecs", "gzip"]
    result = runner.invoke(args=[*args, "--history", str(tmp_path / "cache"), "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cache" / "staticmw.json").is_file()
    refused = runner.invoke(args=["staticmw", "build", "--jobs", "0"])
    assert refused.exit_code == 2 and "--jobs" in refused.output
