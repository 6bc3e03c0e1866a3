"""The command line's own argument handling: one-line errors, never a traceback."""

from __future__ import annotations

import pytest

from staticmw import cli


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
