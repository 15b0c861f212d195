"""The errors that reach the command line.

Expected outcomes of processing a message (a missing field, a late declaration, an unreadable
attachment) are data, never exceptions. What is left are the conditions that stop a command:

    IntakeError                 base: the CLI prints str(error) on one line and exits 2
    ├── ConfigError             the configuration file is missing, malformed or has a bad value
    ├── ServerUnreachable       IMAP, SMTP or the database cannot be reached or refused the login
    ├── MailboxError            the IMAP server answered, but not as needed (no such folder, ...)
    └── UsageError              a bad argument (an unknown submission id, a bad date)

Nothing below the CLI calls sys.exit; the CLI catches IntakeError only, so a bug still shows
its traceback.
"""


class IntakeError(Exception):
    """A condition that stops a command; its message is one line for the operator."""


class ConfigError(IntakeError):
    pass


class ServerUnreachable(IntakeError):
    pass


class MailboxError(IntakeError):
    pass


class UsageError(IntakeError):
    pass
