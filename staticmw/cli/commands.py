"""Command line: ``staticmw build SRC... --out DIR`` (also ``python -m staticmw``)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any, TextIO

from .. import __version__
from ..build import compress, precompress
from ..build.modulegraph import load_declarations, parse_declarations
from ..build.options import SHARED, STANDALONE, add_arguments, config_from, print_report
from ..build.pipeline import BuildError, OutputError, build
from ..manifest.importmaps import ImportMapError
from ..serve.options import not_a_directory

CONFIG_NAME = "staticmw.toml"


class _Bar:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.enabled = stream.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or not total:
            return
        width = 30
        filled = width * done // total
        self.stream.write(f"\r{stage:<9} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def _port(text: str) -> int:
    """A TCP port for argparse: 0 (pick one) to 65535."""
    try:
        port = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 0 to 65535")
    return port


def _positive(text: str) -> int:
    """A count of 1 or more for argparse."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is too small: use 1 or more")
    return number


def _host(text: str) -> str:
    """An address to listen on for argparse: an IP address or a host name that resolves."""
    import ipaddress
    import socket

    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    try:
        socket.getaddrinfo(text, None)
    except (OSError, UnicodeError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an IP address nor a known host"
        ) from None
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="staticmw",
        description="Static files for WSGI and ASGI apps: build the assets, serve a "
        "directory, check what an application serves.",
    )
    parser.add_argument("--version", action="version", version=f"staticmw {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _build_arguments(commands)
    _serve_arguments(commands)
    _check_arguments(commands)
    _compress_arguments(commands)
    return parser


def _build_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = commands.add_parser(
        "build",
        help="collect, hash, precompress and write a manifest",
        description="Collect SRC directories into DIR, add content-hashed copies, rewrite "
        "CSS/JS references to them, precompress, and write staticmw.json.",
    )
    b.add_argument(
        "sources",
        nargs="+",
        metavar="SRC[=PATH]",
        help="source directories, first wins; SRC=PATH collects SRC below PATH in DIR",
    )
    b.add_argument("--out", required=True, metavar="DIR", help="output directory")
    add_arguments(b, (*SHARED, *STANDALONE))


def _serve_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    v = commands.add_parser(
        "serve",
        help="serve a directory with production headers (development, previews)",
        description="Serve DIR over HTTP with the middleware's headers, index files and "
        "precompressed variants. Not for production: use Gunicorn there.",
    )
    v.add_argument("directory", metavar="DIR")
    v.add_argument(
        "--host", type=_host, default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    v.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks one)")
    v.add_argument("--prefix", default="/", help="URL prefix (default /)")
    v.add_argument("--no-index", action="store_true", help="do not serve index.html for dir/")
    v.add_argument("--autorefresh", action="store_true", help="check the disk on every request")
    v.add_argument(
        "--asgi", action="store_true", help="serve through the ASGI middleware, under Uvicorn"
    )


def _check_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = commands.add_parser(
        "check",
        help="describe what an application's middleware serves; explain one URL",
        description="Load module:application, or module:create_app() (a factory), from the "
        "current directory, or with --django the project of DJANGO_SETTINGS_MODULE; list its "
        "roots, prefixes, file counts and manifests with warnings, and with --url explain "
        "the decision for that URL.",
    )
    c.add_argument("target", nargs="?", metavar="module:application")
    c.add_argument(
        "--django", action="store_true", help="check the Django project of DJANGO_SETTINGS_MODULE"
    )
    c.add_argument("--url", help="a URL path to explain, e.g. /static/css/app.css")
    c.add_argument(
        "--accept-encoding", default="gzip, deflate, br, zstd", help="for --url (a browser's)"
    )
    c.add_argument(
        "--available-dictionary",
        metavar="VALUE",
        help="for --url: the Available-Dictionary a browser holding that dictionary sends "
        "(e.g. :base64 of its SHA-256:), with dcz added to --accept-encoding",
    )


def _compress_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    z = commands.add_parser(
        "compress",
        help="add .gz/.br/.zst variants beside the files of a directory, in place",
        description="Write precompressed variants beside every compressible file below DIR, "
        "with the build's rules: a variant only when it saves at least 5%%, reproducible "
        "bytes, the zstd window at most 8 MiB, images, fonts and archives skipped. A second "
        "run compresses only what changed. For directories the build does not make.",
    )
    z.add_argument("directory", metavar="DIR")
    z.add_argument("--codecs", metavar="LIST",
                   help=f"comma-separated subset of {','.join(compress.ALL_CODECS)} "
                   "(default: every installed one)")  # fmt: skip
    z.add_argument("--skip-extension", action="append", default=[], metavar="EXT",
                   help="leave files ending in .EXT alone, e.g. map (repeatable)")  # fmt: skip
    z.add_argument("--jobs", type=_positive, default=None, metavar="N",
                   help="worker processes, 1 or more (default: one per core)")  # fmt: skip
    z.add_argument("-q", "--quiet", action="store_true", help="only errors")


def compress_directory(args: argparse.Namespace) -> int:
    """``staticmw compress DIR``: 0 done, 1 some file failed, 2 bad usage."""
    directory = os.path.abspath(args.directory)
    if not os.path.isdir(directory):
        print(f"staticmw: {args.directory} {not_a_directory(directory)}", file=sys.stderr)
        return 2
    codecs = compress.parse_codec_list(args.codecs)
    try:
        for codec in codecs or ():
            compress.compressor(codec)
    except (compress.CodecUnavailable, ValueError) as exc:
        print(f"staticmw: {exc}", file=sys.stderr)
        return 2
    if codecs == []:
        print("staticmw: --codecs names no codec: nothing to do", file=sys.stderr)
        return 2
    names = precompress.files_to_compress(directory)
    result = precompress.precompress(
        directory, names, codecs, args.jobs, skip_extensions=args.skip_extension
    )
    for message in result.errors:
        print(f"error: {message}", file=sys.stderr)
    if not args.quiet:
        line = (
            f"{result.compressed} variants written, {result.unchanged} files unchanged since "
            f"the last run, {result.skipped} not worth compressing"
        )
        if result.excluded:
            line += f", {result.excluded} skipped by --skip-extension"
        if result.removed:
            line += f", {result.removed} variants of codecs not asked for removed"
        print(line)
    return 1 if result.errors else 0


def not_found(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
    """The application behind ``staticmw serve``: everything not served is a 404."""
    body = b"404 Not Found\n"
    start_response(
        "404 Not Found",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [body]


async def not_found_asgi(
    scope: MutableMapping[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
) -> None:
    """``not_found`` for ``staticmw serve --asgi`` (lifespan events are acknowledged)."""
    if scope["type"] == "lifespan":
        from ..integrations.asgi import acknowledge_lifespan

        await acknowledge_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    body = b"404 Not Found\n"
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve(args: argparse.Namespace) -> int:
    """``staticmw serve``: a threaded wsgiref server around the middleware, or Uvicorn."""
    from ..integrations.wsgi import StaticMiddleware
    from ..serve.options import ConfigurationError

    options = {
        "index_file": None if args.no_index else True,
        "autorefresh": args.autorefresh,
    }
    try:
        app = StaticMiddleware(not_found, args.directory, args.prefix, **options)
    except ConfigurationError as exc:
        print(f"staticmw: {exc}", file=sys.stderr)
        return 2
    if args.asgi:
        return _serve_asgi(args, options)
    return _serve_wsgi(args, app)


def _listening(args: argparse.Namespace, port: int, prefix: str) -> None:
    print(f"staticmw: serving {args.directory} at http://{args.host}:{port}{prefix}", flush=True)


def _serve_wsgi(args: argparse.Namespace, app: Callable[..., Any]) -> int:
    import socketserver
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Handler(WSGIRequestHandler):
        def log_message(self, format: str, *values: object) -> None:
            logging.getLogger("staticmw.serve").info("staticmw serve: " + format, *values)

    try:
        httpd = make_server(args.host, args.port, app, server_class=Server, handler_class=Handler)
    except OSError as exc:
        print(f"staticmw: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    with httpd:
        _listening(args, httpd.server_port, getattr(app, "roots", [("/", "")])[0][0])
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            print("staticmw: stopped", file=sys.stderr)
    return 0


def _serve_asgi(args: argparse.Namespace, options: dict[str, Any]) -> int:
    import socket

    try:
        import uvicorn
    except ImportError:
        print("staticmw: --asgi needs Uvicorn: pip install 'staticmw[asgi]'", file=sys.stderr)
        return 2
    from ..integrations.asgi import StaticMiddleware

    app = StaticMiddleware(not_found_asgi, args.directory, args.prefix, **options)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((args.host, args.port))
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        print(f"staticmw: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    _listening(args, listener.getsockname()[1], app.roots[0][0])
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[listener])
    except KeyboardInterrupt:
        pass  # Uvicorn shut down gracefully, then raised the signal again
    finally:
        listener.close()
    print("staticmw: stopped", file=sys.stderr)
    return 0


def check(args: argparse.Namespace) -> int:
    """``staticmw check``: 0 when clean, 1 with warnings, 2 when the target cannot be checked."""
    from . import check as checking

    if bool(args.target) == args.django:
        print("staticmw: check takes module:application or --django (one of them)", file=sys.stderr)
        return 2
    try:
        if args.django:
            obj, static, warnings = checking.load_django()
        else:
            obj, static = checking.load(args.target)
            warnings = []
        lines, more = checking.report(obj, static)
        warnings += more
    except (checking.CheckError, RuntimeError, ValueError) as exc:
        print(f"staticmw: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    for warning in warnings:
        print(f"warning: {warning}")
    if args.url:
        accept = args.accept_encoding
        if args.available_dictionary is not None and "dcz" not in accept:
            accept += ", dcz"
        explained = static.explain(args.url, accept, args.available_dictionary)
        for line in explained.lines():
            print(line)
        host = "127.0.0.1"
        if args.django:  # the page as the whole project renders it
            obj, host = checking.django_application()
        for line in checking.page_hints(obj, static, args.url, host):
            print(line)
    return 1 if warnings else 0


def _declared_imports(config: str | None, entries: Sequence[str]) -> dict[str, str]:
    """Bare names from the config file, then from ``--importmap-entry`` (which wins)."""
    declared: dict[str, str] = {}
    if config is None and os.path.isfile(CONFIG_NAME):
        config = CONFIG_NAME
    if config is not None:
        declared.update(load_declarations(config))
    declared.update(parse_declarations(entries))
    return declared


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of subcommand *name*."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]  # type: ignore[no-any-return]
    return parser


@contextlib.contextmanager
def _logging_to_stderr() -> Iterator[None]:
    """staticmw's warnings on stderr while a command runs, each once and as it is written
    (every message says it is staticmw's: no logger name before it). A Django project's own
    ``LOGGING`` may take the logger over; then its handlers alone print, not ours as well."""
    log = logging.getLogger("staticmw")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    saved = log.level, log.propagate
    log.addHandler(handler)
    if log.level == logging.NOTSET:
        log.setLevel(logging.WARNING)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 build failed, 2 bad usage)."""
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # The subcommand's usage, which lists the flags it does take.
        _subcommand(parser, args.command).error(f"unrecognized arguments: {' '.join(unknown)}")
    with _logging_to_stderr():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The command *args* names."""
    if args.command == "serve":
        logging.getLogger("staticmw.serve").setLevel(logging.INFO)
        return serve(args)
    if args.command == "check":
        return check(args)
    if args.command == "compress":
        return compress_directory(args)
    try:
        declared = _declared_imports(args.config, args.importmap_entry)
    except ImportMapError as exc:
        print(f"staticmw: {exc}", file=sys.stderr)
        return 2
    try:
        config = config_from(vars(args), importmap=declared, sources=args.sources, out=args.out)
    except ValueError as exc:
        print(f"staticmw: {exc}", file=sys.stderr)
        return 2
    try:
        report = build(config, progress=None if args.quiet or args.json else _Bar(sys.stderr))
    except OutputError as exc:
        print(f"staticmw: {exc}", file=sys.stderr)
        return 1
    except (BuildError, compress.CodecUnavailable, ValueError) as exc:
        print(f"staticmw: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("staticmw: interrupted; no partial file was left under a final name", file=sys.stderr)
        return 130
    print_report(report, sys.stdout, sys.stderr, as_json=args.json, quiet=args.quiet)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
