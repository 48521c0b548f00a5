"""`lobby users`: staff accounts of the fleet dashboard (add, list, passwd, role, unlock, delete).

Passwords are read without echo (getpass) or, with `--password-stdin`, as the first line of standard
input (scripts, tests); never from the command line, where other users could see them in `ps`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from lobby.errors import CliError


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="users_action", required=True, metavar="ACTION")

    def common(q: argparse.ArgumentParser) -> None:
        # SUPPRESS: given before or after ACTION, the option reaches `args` either way.
        q.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="settings YAML file")
        q.add_argument(
            "--staff-db",
            type=Path,
            default=argparse.SUPPRESS,
            help="staff database (default: setting staff_db_path)",
        )
        q.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    def password(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of standard input",
        )

    q = sub.add_parser("add", help="create an account")
    q.add_argument("name", help="user name: 2-32 of a-z 0-9 _ . -")
    q.add_argument(
        "--role", required=True, choices=["viewer", "operator", "admin"], help="what the user may do"
    )
    password(q)
    common(q)
    q = sub.add_parser("list", help="list the accounts")
    common(q)
    q = sub.add_parser("passwd", help="set a new password (ends the user's sessions, lifts a lock)")
    q.add_argument("name")
    password(q)
    common(q)
    q = sub.add_parser("role", help="change an account's role")
    q.add_argument("name")
    q.add_argument("role", choices=["viewer", "operator", "admin"])
    common(q)
    q = sub.add_parser("unlock", help="lift a lock after too many wrong passwords")
    q.add_argument("name")
    common(q)
    q = sub.add_parser("delete", help="delete an account")
    q.add_argument("name")
    common(q)


def _read_password(args: argparse.Namespace, name: str) -> str:
    from queue_bridge import auth

    if args.password_stdin:
        line = sys.stdin.readline()
        pw = line[:-1] if line.endswith("\n") else line
    else:
        if not sys.stdin.isatty():
            raise CliError("no terminal to ask for the password; use --password-stdin")
        pw = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != pw:
            raise CliError("the two passwords differ")
    problem = auth.password_problem(name, pw)
    if problem:
        raise CliError(problem)
    return pw


def run(args: argparse.Namespace) -> int:
    from lobby.settings import load_settings
    from queue_bridge import auth
    from queue_bridge.staff_store import StaffStore

    try:
        settings = load_settings(getattr(args, "config", None))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    path = getattr(args, "staff_db", None) or settings.staff_db_path
    as_json = bool(getattr(args, "json", False))
    action: str = args.users_action
    name: str = getattr(args, "name", "")
    if name and auth.username_problem(name):
        raise CliError(f"{auth.username_problem(name)} (got {name!r})")
    store = StaffStore(path)
    now = datetime.now(UTC)
    try:
        if action == "list":
            users = store.users()
            rows = [
                {
                    "name": u.name,
                    "role": u.role.label,
                    "locked": auth.is_locked(u.login, now),
                    "failures": u.login.failures,
                }
                for u in users
            ]
            if as_json:
                print(json.dumps(rows))
            else:
                for r in rows:
                    print("\t".join([str(r["name"]), str(r["role"])] + (["locked"] if r["locked"] else [])))
            return 0
        if action == "add":
            if store.user(name) is not None:
                raise CliError(f"the user {name!r} exists already (change it with: lobby users passwd/role)")
            pw = _read_password(args, name)
            role = auth.Role.parse(args.role)
            if not store.add_user(name, role, auth.hash_password(pw), now):
                raise CliError(f"the user {name!r} exists already")
            store.audit(now, None, "user added", f"{name} ({role.label}) from the command line")
            result = {"name": name, "role": role.label}
        else:
            if store.user(name) is None:
                raise CliError(f"no user {name!r} in {path}")
            if action == "passwd":
                store.set_password(name, auth.hash_password(_read_password(args, name)))
                store.audit(now, None, "password set", f"{name} from the command line")
            elif action == "role":
                store.set_role(name, auth.Role.parse(args.role))
                store.audit(now, None, "role changed", f"{name}: {args.role} from the command line")
            elif action == "unlock":
                store.set_login_record(name, auth.after_success())
                store.audit(now, None, "account unlocked", f"{name} from the command line")
            elif action == "delete":
                store.delete_user(name)
                store.audit(now, None, "user deleted", f"{name} from the command line")
            result = {"name": name, "done": action}
    finally:
        store.close()
    print(json.dumps(result) if as_json else f"{action}: {name}")
    return 0
