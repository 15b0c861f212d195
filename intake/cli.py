"""The `intake` command: the composition root, the one place that turns config into adapters.

Each subcommand parses its arguments, builds what it needs from the settings and calls into
the packages below. An IntakeError becomes one line on stderr and exit code 2; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from intake.config import Settings, default_settings, load_settings
from intake.errors import ConfigError, IntakeError, UsageError

log = logging.getLogger("intake")

Handler = Callable[[argparse.Namespace], int]


def _config_path(args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config)
    return Path(os.environ.get("INTAKE_CONFIG") or "config.toml")


def settings_for(args: argparse.Namespace, *, optional: bool = False) -> Settings:
    """The settings of -c/--config, $INTAKE_CONFIG or ./config.toml.

    Commands that need no server (parse, forms) pass optional=True: with no file they run on
    the defaults rather than demand a configuration they would not use.
    """
    path = _config_path(args)
    if optional and not args.config and not path.exists():
        return default_settings()
    return load_settings(path)


def _not_yet(name: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        settings_for(args, optional=True)  # a bad config is still reported first
        raise UsageError(f"intake {name}: not available yet")

    return handler


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from intake.bootstrap import open_database

    settings = settings_for(args)
    database = open_database(settings)
    print(f"database at revision {database.revision}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    def options(defaults: bool) -> argparse.ArgumentParser:
        # Given before or after the command alike; the subcommand's copy must not overwrite
        # a value given before it with its default, hence SUPPRESS there.
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument(
            "-c", "--config", metavar="PATH",
            default=None if defaults else argparse.SUPPRESS,
            help="configuration file (default: $INTAKE_CONFIG, else ./config.toml)",
        )
        common.add_argument("-v", "--verbose", action="count",
                            default=0 if defaults else argparse.SUPPRESS, help="more log output")
        return common

    common = options(defaults=False)
    parser = argparse.ArgumentParser(
        prog="intake",
        description="Join declarations for the SOS network of municipal communicators: "
        "reads the coordinator's mailbox, decides, stores members, replies.",
        parents=[options(defaults=True)],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[common])
        sub.set_defaults(handler=handler)
        return sub

    add("run", "the worker: poll on schedule, send replies, send the daily digest",
        _not_yet("run"))

    poll = add("poll", "one poll cycle now: fetch new mail, process it, send queued replies",
               _not_yet("poll"))
    poll.add_argument("--once", action="store_true", required=True,
                      help="run one cycle and exit (the only mode; `intake run` schedules)")

    ingest = add("ingest", "process saved .eml files as if they had arrived in the mailbox",
                 _not_yet("ingest"))
    ingest.add_argument("files", nargs="+", metavar="FILE.eml")
    ingest.add_argument("--received-at", metavar="ISO-TIME",
                        help="received time for files without a Received: header")

    parse = add("parse", "parse declaration documents (.pdf, .docx, .eml) and print the fields",
                _not_yet("parse"))
    parse.add_argument("files", nargs="+", metavar="FILE")
    parse.add_argument("--json", action="store_true", help="one JSON object per line")

    submissions = add("submissions", "what was received and what became of it",
                      _not_yet("submissions"))
    submissions.add_argument("--json", action="store_true", help="one JSON object per line")
    submissions.add_argument("--status", metavar="S", help="only this status")

    members = add("members", "the current members", _not_yet("members"))
    members.add_argument("--format", choices=["table", "csv", "json", "xlsx"], default="table")
    members.add_argument("-o", "--output", metavar="FILE", help="write to FILE")

    review = add("review", "the coordinator's decisions on submissions that need review",
                 _not_yet("review"))
    review.add_argument("action", choices=["list", "approve", "reject"])
    review.add_argument("id", nargs="?", type=int)
    review.add_argument("--reason", metavar="TEXT", help="why (reject)")

    digest = add("digest", "build the daily digest for a day", _not_yet("digest"))
    digest.add_argument("--date", metavar="YYYY-MM-DD", help="default: yesterday")
    digest.add_argument("--print", action="store_true", help="show it in the terminal")
    digest.add_argument("--send", action="store_true", help="mail it to [digest] to")

    forms = add("forms", "write the official blank declaration (DOCX and fillable PDF)",
                _not_yet("forms"))
    forms.add_argument("-o", "--output", metavar="DIR", required=True)

    add("demo", "the whole job on an embedded mailbox and mail sink, no setup",
        _not_yet("demo"))

    db = add("db", "database maintenance", _cmd_db_upgrade)
    db.add_argument("action", choices=["upgrade"],
                    help="bring the schema up to date (every command also does this)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else
        logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except IntakeError as error:
        print(f"intake: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def run() -> None:
    sys.exit(main())


__all__ = ["ConfigError", "main", "run"]
