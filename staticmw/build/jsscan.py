"""Module specifiers in JavaScript source, found by a small lexer rather than a regular expression.

The lexer knows strings, template literals (with nested ``${...}``), comments, regular
expression literals and punctuators, so an ``import`` inside any of them is never taken
for one. It reports the string literal of each static ``import ... from "x"``,
``import "x"``, ``export ... from "x"``, dynamic ``import("x")`` and module-relative
``new URL("x", import.meta.url)``, with its offsets and line, so a rewrite changes those
literals and nothing else.

A ``/`` after ``)`` is taken for division and after ``}`` for the start of a regular
expression, which is right for real code except in contrived cases such as
``if (x) /re/.test(y)`` or ``({}) / 2``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple


class Specifier(NamedTuple):
    """One module specifier: the literal's span ``[start, end)`` (quotes included)."""

    start: int
    end: int
    value: str
    line: int
    kind: str  # "import", "export", "side-effect", "dynamic" or "url" (new URL(...))


class _Token(NamedTuple):
    kind: str  # "name", "string", "punct", "template", "regex", "number"
    start: int
    end: int
    text: str


# After these keywords a "/" starts a regular expression, as after most punctuators.
_REGEX_AFTER_KEYWORDS = frozenset(
    {
        "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw",
        "case", "do", "else", "yield", "await",
    }
)  # fmt: skip
_NAME_PART = frozenset("$_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_PUNCT_TWO = frozenset({"=>", "?.", "...", "**", "&&", "||", "??"})
# The tokens run() takes in one step: spaces, a line comment, a closed block comment, a name
# (letters, digits, "$", "_", "\\" and anything beyond ASCII), a number starting with a
# digit, a punctuator other than ".", "/", "{" and "}". Anything else (an unclosed comment,
# a number such as ".5", a brace that a template may close) goes the long way.
_FAST = re.compile(
    r"(?P<space>[ \t\r\n\f\v\u00a0\u2028\u2029\ufeff]+)"
    r"|(?P<comment>//[^\n]*|/\*[\s\S]*?\*/)"
    r"|(?P<name>[A-Za-z$_\x80-\U0010ffff\\][A-Za-z0-9$_\x80-\U0010ffff\\]*)"
    r"|(?P<number>[0-9][A-Za-z0-9$_.]*)"
    r"|(?P<punct>=>|\?\.|\*\*|&&|\|\||\?\?|[=;,:()\[\]<>+\-*%&|^!~?@#])"
)


class _Lexer:
    """Yields significant tokens; keeps a stack of open template substitutions."""

    def __init__(self, source: str):
        self.source = source
        self.pos = 0
        self.tokens: list[_Token] = []
        # For each "{" seen: True when it opened a template's "${".
        self.braces: list[bool] = []

    def _regex_allowed(self) -> bool:
        if not self.tokens:
            return True
        last = self.tokens[-1]
        if last.kind == "name":
            return last.text in _REGEX_AFTER_KEYWORDS
        if last.kind in ("string", "number", "regex", "template"):
            return False
        return last.text not in (")", "]")

    def run(self) -> list[_Token]:
        source, size = self.source, len(self.source)
        fast, tokens = _FAST.match, self.tokens
        while self.pos < size:
            # Most of a file is spaces, comments, names and numbers: one regex step each.
            found = fast(source, self.pos)
            if found is not None:
                kind = found.lastgroup
                end = found.end()
                if kind != "space" and kind != "comment":
                    tokens.append(_Token(kind, self.pos, end, found.group()))  # type: ignore[arg-type]
                self.pos = end
                continue
            char = source[self.pos]
            if source.startswith("/*", self.pos):
                self.pos = size  # a block comment never closed runs to the end
            elif char in "'\"":
                self._string(char)
            elif char == "`":
                self._template(self.pos + 1)
            elif char == "}" and self.braces and self.braces[-1]:
                self.braces.pop()
                self._template(self.pos + 1)  # the template goes on after "${...}"
            elif char == "/" and self._regex_allowed():
                self._regex()
            elif char == "." and source[self.pos + 1 : self.pos + 2].isdigit():
                self._number()  # such as ".5" (one starting with a digit is taken above)
            else:
                self._punct(char)
        return self.tokens

    def _add(self, kind: str, start: int, end: int) -> None:
        self.tokens.append(_Token(kind, start, end, self.source[start:end]))
        self.pos = end

    def _string(self, quote: str) -> None:
        source, start = self.source, self.pos
        index = start + 1
        while index < len(source):
            char = source[index]
            if char == "\\":
                index += 2
                continue
            if char == quote or char == "\n":
                break
            index += 1
        self._add("string", start, min(index + 1, len(source)))

    def _template(self, index: int) -> None:
        """A template literal (or its part after ``}``) up to its end or to ``${``."""
        source, start = self.source, index - 1
        while index < len(source):
            char = source[index]
            if char == "\\":
                index += 2
                continue
            if char == "`":
                self._add("template", start, index + 1)
                return
            if source.startswith("${", index):
                self._add("template", start, index + 2)
                self.braces.append(True)
                return
            index += 1
        self._add("template", start, len(source))

    def _regex(self) -> None:
        source, start = self.source, self.pos
        index, in_class = start + 1, False
        while index < len(source):
            char = source[index]
            if char == "\\":
                index += 2
                continue
            if char == "\n":
                break
            if char == "[":
                in_class = True
            elif char == "]":
                in_class = False
            elif char == "/" and not in_class:
                index += 1
                while index < len(source) and source[index] in _NAME_PART:
                    index += 1  # flags
                break
            index += 1
        self._add("regex", start, min(index, len(source)))

    def _number(self) -> None:
        source, index = self.source, self.pos + 1
        while index < len(source) and (source[index] in _NAME_PART or source[index] == "."):
            index += 1
        self._add("number", self.pos, index)

    def _punct(self, char: str) -> None:
        if char == "{":
            self.braces.append(False)
        elif char == "}" and self.braces:
            self.braces.pop()
        for width in (3, 2):
            chunk = self.source[self.pos : self.pos + width]
            if len(chunk) == width and chunk in _PUNCT_TWO:
                self._add("punct", self.pos, self.pos + width)
                return
        self._add("punct", self.pos, self.pos + 1)


def _literal_value(token: _Token) -> str | None:
    """A plain string literal's value; ``None`` for one with escapes or left unclosed."""
    text = token.text
    if len(text) < 2 or text[-1] != text[0] or "\\" in text:
        return None
    return text[1:-1]


def scan(source: str) -> list[Specifier]:
    """Every module specifier written as a plain string literal, in source order."""
    tokens = _Lexer(source).run()
    found: list[Specifier] = []
    # Specifiers come in source order: lines are counted on from the previous one.
    counted = [0, 1]  # position, line there

    def add(token: _Token, kind: str) -> None:
        value = _literal_value(token)
        if value is not None:
            counted[1] += source.count("\n", counted[0], token.start)
            counted[0] = token.start
            found.append(Specifier(token.start, token.end, value, counted[1], kind))

    for index, token in enumerate(tokens):
        if (
            token.kind == "name"
            and token.text == "URL"
            and index
            and tokens[index - 1].text == "new"
        ):
            url = _module_relative_url(tokens, index + 1)
            if url is not None:
                add(url, "url")
            continue
        if token.kind != "name" or token.text not in ("import", "export"):
            continue
        if index and tokens[index - 1].text in (".", "?.", "as", "@"):
            # A property or binding named import, not the keyword; nor is "@import" (a
            # reserved word is never a decorator), which stylesheets in scripts hold.
            continue
        after = tokens[index + 1 : index + 2]
        if not after:
            continue
        nxt = after[0]
        if token.text == "import" and nxt.kind == "string":
            add(nxt, "side-effect")
        elif token.text == "import" and nxt.text == "(":
            rest = tokens[index + 2 : index + 4]
            if len(rest) == 2 and rest[0].kind == "string" and rest[1].text in (")", ","):
                add(rest[0], "dynamic")
        elif (token.text == "import" and (nxt.kind == "name" or nxt.text in ("{", "*"))) or (
            token.text == "export" and nxt.text in ("{", "*")
        ):
            source_token = _from_clause(tokens, index + 1)
            if source_token is not None:
                add(source_token, token.text)
    return found


_META_URL = ["import", ".", "meta", ".", "url"]


def _module_relative_url(tokens: list[_Token], index: int) -> _Token | None:
    """The string in ``new URL("x", import.meta.url)``, the tokens after ``URL`` at *index*."""
    window = tokens[index : index + 9]
    if (
        len(window) == 9
        and window[0].text == "("
        and window[1].kind == "string"
        and window[2].text == ","
        and [t.text for t in window[3:8]] == _META_URL
        and window[8].text in (")", ",")
    ):
        return window[1]
    return None


def _from_clause(tokens: list[_Token], index: int) -> _Token | None:
    """The string after ``from`` that ends an import or export clause starting at *index*.

    The clause ends at the next ``import`` or ``export`` keyword at the latest (one after
    ``as`` is a name), so no token is looked at for two clauses: a file of unfinished
    clauses costs what its length does.
    """
    depth = 0
    for position in range(index, min(len(tokens), index + 2000)):
        token = tokens[position]
        if (
            token.kind == "name"
            and token.text in ("import", "export")
            and tokens[position - 1].text != "as"
        ):
            return None
        if token.text == "{":
            depth += 1
        elif token.text == "}":
            depth -= 1
        elif depth <= 0 and token.text in (";", "="):
            return None
        elif (
            depth <= 0
            and token.kind == "name"
            and token.text == "from"
            and position + 1 < len(tokens)
            and tokens[position + 1].kind == "string"
        ):
            return tokens[position + 1]
        elif depth <= 0 and token.kind == "string":
            return None
    return None


def rewrite(source: str, new_name: Callable[[Specifier], str | None]) -> str:
    """*source* with each specifier that *new_name* maps replaced, quotes kept; nothing else."""
    pieces, last = [], 0
    for specifier in scan(source):
        replacement = new_name(specifier)
        if replacement is None or replacement == specifier.value:
            continue
        quote = source[specifier.start]
        if any(char in replacement for char in (quote, "\\", "\n", "\r")):
            raise ValueError(f"cannot write {replacement!r} inside a {quote}-quoted specifier")
        pieces += [source[last : specifier.start], quote, replacement, quote]
        last = specifier.end
    pieces.append(source[last:])
    return "".join(pieces)
