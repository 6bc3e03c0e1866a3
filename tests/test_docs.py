"""The documentation's own checks: ``make docs`` builds with warnings as errors, so a broken
link between pages fails it, as ``bench/figures.py --check`` fails on a stale figure."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def sphinx(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    return subprocess.run(
        [*command, str(source), str(out)], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize(
    ("link", "fails"),
    [
        ("[the other page](other.md)", False),
        ("[a section](other.md#a-section)", False),
        ("[no such page](nowhere.md)", True),
        ("[no such section](other.md#no-such-section)", True),
    ],
)
def test_a_broken_link_between_pages_fails_the_build(tmp_path, link, fails):
    source = tmp_path / "docs"
    source.mkdir()
    shutil.copy(DOCS / "conf.py", source / "conf.py")
    (source / "index.md").write_text(f"# Home\n\n{link}\n\n```{{toctree}}\nother\n```\n")
    (source / "other.md").write_text("# Other\n\n## A section\n\nText.\n")
    done = sphinx(source, tmp_path / "html")
    assert (done.returncode != 0) == fails, done.stderr
    if fails:
        assert "index.md" in done.stderr
