"""`lobby robot`: placeholder until the robot runner lands."""

from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    del p  # arguments arrive with the runner


def run(args: argparse.Namespace) -> int:
    from lobby.errors import CliError

    raise CliError("the robot runner is not built yet")
