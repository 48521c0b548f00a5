"""The one user-facing error type of the `lobby` command, in a module of its own so that every
subcommand module raises the class `lobby.cli.main` catches, even under `python -m lobby.cli`
(which loads lobby/cli.py twice: as __main__ and as lobby.cli)."""


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""
