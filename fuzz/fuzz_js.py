"""Fuzz the JavaScript module scanner: any text scans, spans are string literals, an identity
rewrite gives the text back, and a rewrite changes only the specifiers.

Run: python fuzz/fuzz_js.py fuzz/work/js fuzz/corpus/js -max_total_time=60
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from staticmw.build import jsscan


def TestOneInput(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    found = jsscan.scan(text)
    for specifier in found:
        if not 0 <= specifier.start < specifier.end <= len(text):
            raise AssertionError(f"span outside the text: {specifier!r}")
        literal = text[specifier.start : specifier.end]
        if literal[0] not in "'\"" or literal[-1] != literal[0]:
            raise AssertionError(f"span is not a string literal: {literal!r}")
    if jsscan.rewrite(text, lambda specifier: None) != text:
        raise AssertionError("identity rewrite changed the text")
    out = jsscan.rewrite(text, lambda specifier: "./X")
    if len(jsscan.scan(out)) != len(found):
        raise AssertionError("a rewrite changed what else the text holds")


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
