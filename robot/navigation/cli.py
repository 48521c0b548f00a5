"""`lobby plan`: placeholder until the navigation package lands."""

from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    del p  # arguments arrive with the planner


def run(args: argparse.Namespace) -> int:
    from lobby.cli import CliError

    raise CliError("planning is not built yet")
