"""The `intake` command: the composition root, the one place that turns config into adapters.

Each subcommand parses its arguments, builds what it needs from the settings and calls into
the packages below. An IntakeError becomes one line on stderr and exit code 2; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from intake.config import Settings, default_settings, load_settings
from intake.errors import IntakeError, ServerUnreachable, UsageError
from parsers.model import FIELDS, Declaration

# The statuses of spec/interface.md, worst first (intake.decide.Status holds the same values;
# not imported from there so that `intake --help` does not load the decision rules).
STATUSES: tuple[str, ...] = ("ignored", "rejected", "incomplete", "needs_review", "accepted")

if TYPE_CHECKING:
    from intake.cycle import Pipeline

log = logging.getLogger("intake")

Handler = Callable[[argparse.Namespace], int]


def _config_path(args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config)
    return Path(os.environ.get("INTAKE_CONFIG") or "config.toml")


def settings_for(args: argparse.Namespace, *, optional: bool = False) -> Settings:
    """The settings of -c/--config, $INTAKE_CONFIG or ./config.toml.

    Commands that need no server (parse, forms, demo) pass optional=True: with no file they
    run on the defaults rather than demand a configuration they would not use. A file named
    by -c or $INTAKE_CONFIG is still required and checked: the interface promises every
    command fails on a bad configuration, and a typo in either must not pass unnoticed.
    """
    path = _config_path(args)
    named = bool(args.config or os.environ.get("INTAKE_CONFIG"))
    if optional and not named and not path.exists():
        return default_settings()
    return load_settings(path)


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from intake.bootstrap import open_database

    database = open_database(settings_for(args))
    print(f"database at revision {database.revision}")
    return 0


def _cmd_poll(args: argparse.Namespace) -> int:
    from intake.bootstrap import (
        build_pipeline,
        mailbox_opener,
        open_database,
        sandbox_for,
        smtp_connection,
    )
    from intake.cycle import poll_once

    settings = settings_for(args)
    opener = mailbox_opener(settings, writable=bool(settings.mailbox.processed_folder))
    smtp = smtp_connection(settings)
    database = open_database(settings)
    with sandbox_for(settings) as sandbox:
        pipeline = build_pipeline(settings, database, sandbox.parse)
        report = poll_once(pipeline, opener, smtp, batch_size=settings.mailbox.batch_size,
                           processed_folder=settings.mailbox.processed_folder)
    print(report.summary())
    problem = report.imap_error or report.outbox.unreachable
    if problem:
        raise ServerUnreachable(problem)
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from intake.bootstrap import build_pipeline, open_database, sandbox_for, smtp_connection
    from intake.cycle import Outcome, ingest
    from intake.outbox import send_pending
    from intake.reading import newest_received, read_message

    settings = settings_for(args)
    received_at = _parse_time(args.received_at, settings) if args.received_at else None
    paths = [Path(name) for name in args.files]
    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
    database = open_database(settings)
    undated = 0
    with sandbox_for(settings) as sandbox:
        pipeline = build_pipeline(settings, database, sandbox.parse)
        for path in paths:
            if received_at is None and newest_received(read_message(path.read_bytes())) is None:
                undated += 1
                print(f"{path}: no Received: header; give --received-at")
                continue
            outcome = ingest(pipeline, path, received_at)
            if isinstance(outcome, Outcome):
                reasons = ", ".join(outcome.reasons)
                print(f"{path}: {outcome.status}" + (f" ({reasons})" if reasons else ""))
            else:
                print(f"{path}: {outcome}")
    if settings.smtp.host:
        connection = smtp_connection(settings)
        try:
            report = send_pending(pipeline.sessions, connection, now=pipeline.now)
        finally:
            connection.close()
        print(f"{report.sent} replies sent" + (f", {report.retry} to retry" if report.retry
                                               else ""))
        if report.unreachable:
            raise ServerUnreachable(report.unreachable)
    else:
        print("replies queued; [smtp] host is not set, so none was sent")
    if undated:
        # A file left out for want of a received time is a missing argument, not an
        # outcome: a script must see that it was not ingested.
        raise UsageError(f"{undated} of {len(paths)} files not ingested: no Received: header; "
                         "give --received-at")
    return 0


def _parse_time(value: str, settings: Settings) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--received-at: expected a time such as 2021-02-03T10:12:00, "
                         f"got {value!r}") from None
    zone = settings.campaign.timezone
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _cmd_parse(args: argparse.Namespace) -> int:
    from intake.bootstrap import sandbox_for
    from intake.cycle import declarations_in
    from intake.reading import read_message

    settings = settings_for(args, optional=True)
    failures = 0
    with sandbox_for(settings) as sandbox:
        for name in args.files:
            path = Path(name)
            error: str | None = None
            found: list[Declaration] = []
            try:
                data = path.read_bytes()
            except OSError as problem:
                error, failures = f"cannot read: {problem.strerror or problem}", failures + 1
            else:
                if path.suffix.lower() == ".eml":
                    found = declarations_in(read_message(data), sandbox.parse)
                else:
                    found = sandbox.parse(data, path.name)
            if args.json:
                print(json.dumps({
                    "file": name,
                    "declarations": [
                        {"fields": d.fields, "problems": list(d.problems), "source": d.source,
                         "detail": d.detail} for d in found
                    ],
                    "error": error,
                }, ensure_ascii=False))
            else:
                print(render_parse(name, found, error))
    return 2 if failures else 0


def render_parse(name: str, found: Sequence[Declaration], error: str | None) -> str:
    lines = [f"== {name}"]
    if error:
        lines.append(f"   error: {error}")
    elif not found:
        lines.append("   no declaration found")
    for number, declaration in enumerate(found, 1):
        source = f" ({declaration.source})" if declaration.source else ""
        lines.append(f"-- declaration {number}{source}")
        for spec in FIELDS:
            if spec.name in declaration.fields:
                value = declaration.fields[spec.name]
                shown = ", ".join(value) if isinstance(value, list) else value
                if isinstance(value, bool):
                    shown = "yes" if value else "no"
                lines.append(f"   {spec.name:<18} {shown}")
        if declaration.problems:
            lines.append(f"   problems           {', '.join(declaration.problems)}")
        if declaration.detail:
            lines.append(f"   detail             {declaration.detail}")
    return "\n".join(lines)


def _cmd_submissions(args: argparse.Namespace) -> int:
    from intake.bootstrap import open_database
    from intake.listing import submission_rows

    settings = settings_for(args)
    if args.status is not None and args.status not in STATUSES:
        # A misspelt status (or a reason code such as `closed`) would otherwise list nothing
        # and look like "none of those".
        raise UsageError(f"submissions --status: expected one of {' | '.join(STATUSES)}, "
                         f"got {args.status!r}")
    database = open_database(settings)
    with database.sessions() as session:
        rows = submission_rows(session, settings.campaign.timezone, status=args.status)
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    print(f"{'id':>5}  {'received':<16}  {'status':<12}  {'sender':<32}  reasons")
    for row in rows:
        received = str(row["received_at"])[:16].replace("T", " ")
        reasons = ", ".join(row["reasons"]) or "-"
        print(f"{row['id']:>5}  {received:<16}  {row['status']:<12}  {row['sender'][:32]:<32}  "
              f"{reasons}")
    return 0


def _cmd_forms(args: argparse.Namespace) -> int:
    from intake.forms import write_forms

    settings_for(args, optional=True)  # unused, but a bad -c must fail here as everywhere
    directory = Path(args.output)
    try:
        docx_path, pdf_path = write_forms(directory)
    except OSError as error:
        raise UsageError(f"{directory}: {error.strerror or error}") from None
    print(docx_path)
    print(pdf_path)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from intake.bootstrap import (
        build_pipeline,
        mailbox_opener,
        migrate_database,
        open_database,
        sandbox_for,
        smtp_connection,
    )
    from jobs.poll import Worker
    from jobs.worker import run
    from storage.lock import acquire_worker_lock

    settings = settings_for(args)
    opener = mailbox_opener(settings, writable=bool(settings.mailbox.processed_folder))
    smtp_connection(settings)  # fails now, naming the key, if [smtp] is not configured
    database = open_database(settings, migrate=False)
    try:
        lock = acquire_worker_lock(database.engine)
    except (OSError, SQLAlchemyError) as error:
        raise ServerUnreachable(f"database: {str(error).splitlines()[0]}") from None
    if isinstance(lock, str):
        raise IntakeError(f"not starting: {lock}")
    database = migrate_database(database)
    if not args.verbose:
        logging.getLogger("intake").setLevel(logging.INFO)
    try:
        with sandbox_for(settings) as sandbox:
            pipeline = build_pipeline(settings, database, sandbox.parse)
            run(Worker(settings, pipeline, opener, lambda: smtp_connection(settings)))
    finally:
        lock.release()
    return 0


def _open_pipeline(args: argparse.Namespace) -> tuple[Settings, Pipeline]:
    """Settings and a pipeline for the coordinator's commands (no attachment is parsed)."""
    from intake.bootstrap import build_pipeline, open_database

    settings = settings_for(args)
    database = open_database(settings)

    def refuse(data: bytes, name: str | None) -> list[Declaration]:
        raise RuntimeError("the coordinator's commands parse no attachments")

    return settings, build_pipeline(settings, database, refuse)


def _send_outbox(settings: Settings, pipeline: Pipeline) -> str:
    from intake.bootstrap import smtp_connection
    from intake.outbox import send_pending

    if not settings.smtp.host:
        return "the reply is queued; [smtp] host is not set, so it was not sent"
    connection = smtp_connection(settings)
    try:
        report = send_pending(pipeline.sessions, connection, now=pipeline.now)
    finally:
        connection.close()
    if report.unreachable:
        return f"the reply is queued and will be sent by the worker ({report.unreachable})"
    return f"{report.sent} reply sent" if report.sent == 1 else f"{report.sent} replies sent"


def _cmd_review(args: argparse.Namespace) -> int:
    from intake.coordinator import decide_review, open_reviews

    if args.action == "list" and args.id is not None:
        raise UsageError("review list: takes no id (approve ID / reject ID decide one)")
    settings, pipeline = _open_pipeline(args)
    zone = settings.campaign.timezone
    if args.action == "list":
        from intake.export import clean_text

        with pipeline.sessions() as session:
            items = open_reviews(session)
        if not items:
            print("nothing waits for review")
        else:
            print(f"{'id':>5}  {'received':<16}  {'sender':<32}  {'name':<24}  "
                  f"{'organisation':<32}  reasons")
        for item in items:
            received = item.received_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            # What applicants wrote reaches a terminal: no line breaks, escapes or bidi tricks.
            print(f"{item.id:>5}  {received}  {clean_text(item.sender):<32}  "
                  f"{clean_text(item.full_name):<24}  {clean_text(item.organization):<32}  "
                  f"{', '.join(item.reasons)}")
        return 0
    if args.id is None:
        raise UsageError(f"review {args.action}: give the submission's id (see review list)")
    if args.action == "reject" and not (args.reason or "").strip():
        raise UsageError("review reject: give --reason TEXT; the applicant receives it")
    with pipeline.sessions.begin() as session:
        status = decide_review(session, pipeline, args.id, approve=args.action == "approve",
                               reason=args.reason or "")
    print(f"submission {args.id}: {status}; {_send_outbox(settings, pipeline)}")
    return 0


def _cmd_members(args: argparse.Namespace) -> int:
    from intake.bootstrap import open_database
    from intake.coordinator import member_rows, remove_member
    from intake.export import members_csv, members_json_lines, members_table, members_xlsx

    settings = settings_for(args)
    database = open_database(settings)
    zone = settings.campaign.timezone
    if args.action:
        if args.action[0] != "remove" or len(args.action) != 2:
            raise UsageError("members: expected `members remove EMAIL` or no arguments")
        with database.sessions.begin() as session:
            touched = remove_member(session, args.action[1])
        print(f"erased {args.action[1]}: {touched} records changed or deleted")
        return 0
    with database.sessions() as session:
        rows = member_rows(session)
    data: bytes
    if args.format == "xlsx":
        if not args.output:
            raise UsageError("members --format xlsx: give -o FILE")
        data = members_xlsx(rows, tz=zone)
    elif args.format == "csv":
        data = members_csv(rows, tz=zone)
    elif args.format == "json":
        data = members_json_lines(rows, tz=zone).encode("utf-8")
    else:
        data = members_table(rows, tz=zone).encode("utf-8")
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"{len(rows)} members written to {args.output}")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _cmd_digest(args: argparse.Namespace) -> int:
    from intake.bootstrap import smtp_connection
    from intake.coordinator import digest_data, send_digest
    from intake.digest import render_html, render_text

    settings, pipeline = _open_pipeline(args)
    zone = settings.campaign.timezone
    if args.date:
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            raise UsageError(f"--date: expected YYYY-MM-DD, got {args.date!r}") from None
    else:
        day = pipeline.now().astimezone(zone).date() - timedelta(days=1)
    if args.send:
        connection = smtp_connection(settings)
        print(send_digest(pipeline.sessions, pipeline, connection, day, zone,
                          settings.digest.to, force=True))
    if args.print or args.html or not args.send:
        with pipeline.sessions() as session:
            data = digest_data(session, day, zone)
        if args.html:
            Path(args.html).write_text(render_html(data), encoding="utf-8")
            print(f"digest for {day.isoformat()} written to {args.html}")
        if args.print or not (args.send or args.html):
            print(render_text(data))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from intake.demo import render_outcome, run_demo

    # The demo brings its own settings; a bad -c must still fail here as everywhere.
    settings_for(args, optional=True)

    def say(line: str) -> None:
        print(line, flush=True)

    # The worker's own log line for the cycle is part of what the demo shows.
    worker_log = logging.getLogger("intake.worker")
    worker_log.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    worker_log.addHandler(handler)
    worker_log.propagate = False

    try:
        result = run_demo(Path(args.dir), say, serve=args.serve)
    except KeyboardInterrupt:
        print("stopped")
        return 0
    print(render_outcome(result))
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

    add("run", "the worker: poll on schedule, send replies, send the daily digest; "
        "stops cleanly on SIGINT/SIGTERM", _cmd_run)

    poll = add("poll", "one poll cycle now: fetch new mail, process it, send queued replies",
               _cmd_poll)
    poll.add_argument("--once", action="store_true", required=True,
                      help="run one cycle and exit (the only mode; `intake run` schedules)")

    ingest = add("ingest", "process saved .eml files as if they had arrived in the mailbox",
                 _cmd_ingest)
    ingest.add_argument("files", nargs="+", metavar="FILE.eml")
    ingest.add_argument("--received-at", metavar="ISO-TIME",
                        help="received time for files without a Received: header (without "
                        "an offset: campaign.timezone); without it such files are not "
                        "ingested and the exit code is 2")

    parse = add("parse", "parse declaration documents (.pdf, .docx, .eml) and print the fields",
                _cmd_parse)
    parse.add_argument("files", nargs="+", metavar="FILE")
    parse.add_argument("--json", action="store_true", help="one JSON object per line")

    submissions = add("submissions", "what was received and what became of it",
                      _cmd_submissions)
    submissions.add_argument("--json", action="store_true", help="one JSON object per line")
    submissions.add_argument("--status", metavar="S",
                             help=f"only this status: {', '.join(STATUSES)}")

    members = add("members", "the current members; `members remove EMAIL` erases a person",
                  _cmd_members)
    members.add_argument("action", nargs="*", metavar="remove EMAIL",
                         help="erase the personal data of the person with this address")
    members.add_argument("--format", choices=["table", "csv", "json", "xlsx"], default="table")
    members.add_argument("-o", "--output", metavar="FILE", help="write to FILE")

    review = add("review", "the coordinator's decisions on submissions that need review",
                 _cmd_review)
    review.add_argument("action", choices=["list", "approve", "reject"])
    review.add_argument("id", nargs="?", type=int)
    review.add_argument("--reason", metavar="TEXT", help="why (reject)")

    digest = add("digest", "build the daily digest for a day", _cmd_digest)
    digest.add_argument("--date", metavar="YYYY-MM-DD",
                        help="default: yesterday in campaign.timezone")
    digest.add_argument("--print", action="store_true", help="show it in the terminal")
    digest.add_argument("--send", action="store_true",
                        help="mail it to [digest] to (again, if it was sent already)")
    digest.add_argument("--html", metavar="FILE", help="write the HTML to FILE to look at")

    forms = add("forms", "write the official blank declaration (DOCX and fillable PDF)",
                _cmd_forms)
    forms.add_argument("-o", "--output", metavar="DIR", required=True)

    demo = add("demo", "the whole job on an embedded mailbox and mail sink, no setup",
               _cmd_demo)
    demo.add_argument("--dir", default="intake-demo", metavar="DIR",
                      help="where the demo writes its files (default: ./intake-demo)")
    demo.add_argument("--serve", action="store_true",
                      help="afterwards keep the servers running and poll, until Ctrl-C")

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
        code = handler(args)
        sys.stdout.flush()  # a reader gone away shows here, not in the flush at exit
        return code
    except IntakeError as error:
        print(f"intake: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`intake submissions --json | head`): no traceback, and
        # nothing more to flush at exit. 141 is what a shell reports for death by SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def run() -> None:
    sys.exit(main())
