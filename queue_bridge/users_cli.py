"""`lobby users`: placeholder until staff accounts land."""

from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    del p  # arguments arrive with staff accounts


def run(args: argparse.Namespace) -> int:
    from lobby.errors import CliError

    raise CliError("staff accounts are not built yet")
