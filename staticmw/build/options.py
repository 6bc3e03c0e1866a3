"""The build's command-line options, declared once: ``staticmw build`` (argparse) and
``flask staticmw build`` (click) are both made from this table, and print their report
through :func:`print_report`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from ..http.encodings import SIDECAR_SUFFIXES

if TYPE_CHECKING:  # the build is loaded by a build command, not by reading this table
    from .pipeline import BuildConfig, Report


class BuildOption(NamedTuple):
    """One option: its flag (and short flag), the :class:`BuildConfig` field or report
    choice it sets, what it takes, and its help."""

    flag: str
    dest: str
    help: str
    kind: str = "flag"  # "flag", "count" (a whole number), "positive" (1 or more), "text"
    default: Any = None
    metavar: str = ""
    short: str = ""
    repeat: bool = False


# Every build command takes these.
SHARED = (
    BuildOption("--codecs", "codecs", "comma-separated subset of "
                f"{','.join(SIDECAR_SUFFIXES)} (default: every installed one); 'none' for "
                "no variants", "text", metavar="LIST"),
    BuildOption("--strict", "strict", "a missing reference is an error"),
    BuildOption("--prune", "prune", "remove outputs of earlier builds"),
    BuildOption("--keep", "keep", "with --prune, keep what this build and the K before it "
                "made or used, for pages still open on them (default 0)", "count", 0, "K"),
    BuildOption("--history", "history", "a directory kept between deploys (a build cache): "
                "earlier builds' outputs come back from it into the output, and this build's "
                "go into it", "text", metavar="DIR"),
    BuildOption("--dry-run", "dry_run", "print what would change; write nothing"),
    BuildOption("--jobs", "jobs", "worker processes, 1 or more (default: one per core)",
                "positive", 0, "N"),
    BuildOption("--dictionaries", "dictionaries", "keep the last N versions of each JS, CSS "
                "and WASM asset and write dcz deltas against them (RFC 9842; default 0: off)",
                "count", 0, "N"),
    BuildOption("--follow-symlinks", "follow_symlinks",
                "follow symlinks out of a source (default: skip them)"),
    BuildOption("--json", "json", "print the report as JSON on stdout"),
    BuildOption("--quiet", "quiet", "only errors", short="-q"),
)  # fmt: skip

# ``staticmw build`` alone: it is told its sources and output; an integration knows them.
STANDALONE = (
    BuildOption("--exclude", "exclude", "skip files whose path or name matches (repeatable)",
                "text", (), "GLOB", repeat=True),
    BuildOption("--django-manifest", "django_manifest", "also write Django's staticfiles.json"),
    BuildOption("--importmap-entry", "importmap_entry", "a bare module name for the import "
                "map, e.g. chart=vendor/chart.js; NAME/=DIR/ maps a folder (repeatable)",
                "text", (), "NAME=PATH", repeat=True),
    BuildOption("--config", "config", "read [importmap] from FILE (default: ./staticmw.toml)",
                "text", metavar="FILE"),
)  # fmt: skip


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"{number} is too small: use {minimum} or more")
        return number

    return parse


def add_arguments(parser: argparse.ArgumentParser, options: Sequence[BuildOption]) -> None:
    """Each of *options* as an argparse argument."""
    for option in options:
        flags = [option.short, option.flag] if option.short else [option.flag]
        extra: dict[str, Any] = {"dest": option.dest, "help": option.help}
        if option.kind == "flag":
            extra["action"] = "store_true"
        else:
            extra["metavar"] = option.metavar
            extra["default"] = list(option.default) if option.repeat else option.default
            if option.repeat:
                extra["action"] = "append"
            if option.kind in ("count", "positive"):
                extra["type"] = _count(0 if option.kind == "count" else 1)
        parser.add_argument(*flags, **extra)


def click_options(options: Sequence[BuildOption]) -> Callable[[Any], Any]:
    """A decorator adding each of *options* to a click command, with the same names."""
    import click

    def decorate(command: Any) -> Any:
        for option in reversed(options):
            flags = [option.short, option.flag] if option.short else [option.flag]
            help_text = option.help[:1].upper() + option.help[1:] + "."
            if option.kind == "flag":
                command = click.option(*flags, option.dest, is_flag=True, help=help_text)(command)
                continue
            kind: Any = None
            if option.kind in ("count", "positive"):
                kind = click.IntRange(min=0 if option.kind == "count" else 1)
            default = None if option.kind == "positive" else option.default
            command = click.option(
                *flags,
                option.dest,
                type=kind,
                default=default,
                multiple=option.repeat,
                metavar=option.metavar,
                help=help_text,
            )(command)
        return command

    return decorate


def config_from(values: Mapping[str, Any], **given: Any) -> BuildConfig:
    """The :class:`BuildConfig` that parsed *values* (by dest) and *given* fields make."""
    import dataclasses

    from . import compress
    from .pipeline import BuildConfig

    known = {spec.name for spec in dataclasses.fields(BuildConfig)}
    fields = {k: v for k, v in values.items() if k in known and v is not None}
    if "codecs" in fields:
        fields["codecs"] = compress.parse_codec_list(fields["codecs"])
    if "exclude" in fields:
        fields["exclude"] = list(fields["exclude"])
    return BuildConfig(**{**fields, **given})


def print_report(
    report: Report, out: TextIO, err: TextIO, *, as_json: bool = False, quiet: bool = False
) -> None:
    """A build's report: JSON on *out*; or clashes, warnings and errors on *err*, then what
    a dry run would write and remove, and the summary table (not with *quiet*)."""
    if as_json:
        print(json.dumps(report.to_json(), indent=2), file=out)
        return
    for name, kept, ignored in report.clashes:
        print(f"clash: {name}: using {kept}, ignoring {ignored}", file=err)
    for message in report.warnings:
        print(f"warning: {message}", file=err)
    for message in report.errors:
        print(f"error: {message}", file=err)
    if quiet:
        return
    if report.dry_run:
        for path in sorted(report.written):
            print(f"write   {path}", file=out)
        for path in sorted(report.removed):
            print(f"remove  {path}", file=out)
    print(summary(report), file=out)


def summary(report: Report) -> str:
    """The human-readable table printed after a build."""
    verb = "would write" if report.dry_run else "written"
    lines = [
        f"files     {report.files}  ({len(report.written)} {verb}, {report.unchanged} unchanged, "
        f"{len(report.removed)} removed)",
    ]
    if report.restored:
        lines.append(f"history   {report.restored} earlier outputs restored")
    if report.codecs:
        lines.append(f"{'codec':<8}{'files':>7}{'before':>13}{'after':>13}{'saved':>8}")
        for codec, stats in report.codecs.items():
            saved = 100 - 100 * stats.after / stats.before if stats.before else 0
            lines.append(
                f"{codec:<8}{stats.files:>7}{human_size(stats.before):>13}{human_size(stats.after):>13}"
                f"{saved:>7.0f}%"
            )
    lines.append(f"time      {report.seconds:.2f} s")
    return "\n".join(lines)


def human_size(size: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    units = ["B", "KiB", "MiB", "GiB"]
    value = float(size)
    for unit in units:
        if value < 1024 or unit == units[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
