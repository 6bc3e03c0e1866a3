"""Fuzz what the build step reads from asset files: CSS/JS references and manifests.

Run: python fuzz/fuzz_assets.py fuzz/work/assets fuzz/corpus/assets -max_total_time=60
"""

from __future__ import annotations

import json
import sys

import atheris

with atheris.instrument_imports():
    from staticmw.build import rewrite
    from staticmw.http import dictionaries
    from staticmw.manifest import formats
    from staticmw.serve import paths


def TestOneInput(data: bytes) -> None:
    for name in ("css/app.css", "js/app.js"):
        references = rewrite.find_references(name, data)
        for ref in references:
            if not 0 <= ref.start <= ref.end <= len(data):
                raise AssertionError(f"reference outside the file: {ref!r}")
            target = rewrite.local_target(name, ref.url)
            if target and (target.startswith("/") or target.startswith("../")):
                raise AssertionError(f"target escapes the root: {ref.url!r} -> {target!r}")
            rewrite.replace_path(ref.url, "x.0123456789ab.png")
        # Rewriting with no replacements must give back the same bytes.
        if rewrite.rewrite(data, references, lambda ref: None) != data:
            raise AssertionError("identity rewrite changed the content")
    try:
        decoded = json.loads(data)
    except (ValueError, RecursionError):
        return
    try:
        loaded = formats.parse(decoded, "/static/")
    except formats.ManifestError:
        return
    # Whatever the manifest says, what it yields is only names the server would serve,
    # and each delta is named for its own asset.
    for hashed, entry in loaded.hashed.items():
        if paths.split_request_path(hashed.split("?", 1)[0].split("#", 1)[0], True) is None:
            raise AssertionError(f"unservable hashed name kept: {hashed!r}")
        for digest, (name, _) in entry.deltas.items():
            if name != dictionaries.delta_name(hashed.rsplit("/", 1)[-1], digest.hex()):
                raise AssertionError(f"delta {name!r} kept for {hashed!r}")


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
