"""`lobby faces`: placeholder until the perception package lands."""

from __future__ import annotations

import argparse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="an image or a video file")


def run(args: argparse.Namespace) -> int:
    from lobby.errors import CliError

    raise CliError("face detection is not built yet")
