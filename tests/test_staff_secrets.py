"""No secret is in the repository: private keys, passwords or tokens in configuration, the command
secret, broker password files, databases (accounts, sessions)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Spelled in pieces so that this file does not match itself.
PRIVATE_KEY = re.compile("-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?" + "PRIVATE KEY-----")
TOKENS = re.compile(r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|xox[abprs]-[A-Za-z0-9-]{10,})\b")
#: An environment assignment of a secret with a real-looking value (not a placeholder like … or $VAR).
SECRET_ENV = re.compile(r"LOBBY_(?:COMMAND_SECRET|MQTT_PASSWORD)\s*[=:]\s*['\"]?[A-Za-z0-9+/_\-]{8,}")
#: `password: value` / `secret = value` in a configuration file.
CONFIG_SECRET = re.compile(
    r"^\s*[\w.-]*(?:password|passwd|secret|token|api_key)[\w.-]*\s*[:=]\s*['\"]?(?!\s*(?:null|none|~|\"\"|''|$))\S{4,}",
    re.IGNORECASE | re.MULTILINE,
)
CONFIG_SUFFIXES = {".yaml", ".yml", ".conf", ".ini", ".env", ".cfg", ".toml", ".json", ".properties"}
#: mosquitto_passwd / htpasswd / shadow-style lines: `user:$7$...`
HASH_LINE = re.compile(r"^[\w.@-]+:\$(?:[1-9]|2[aby]|argon2\w*|scrypt)\$", re.MULTILINE)


def _repo_files() -> list[Path]:
    """Tracked files, and new files that are not ignored (they are about to be committed)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [ROOT / p for p in out.decode().split("\0") if p and (ROOT / p).is_file()]


def _text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:4096]:
        return None
    return data.decode("utf-8", errors="replace")


def test_no_private_keys_tokens_or_secret_values_in_the_repository() -> None:
    files = _repo_files()
    assert len(files) > 50  # the scan really saw the repository
    found: list[str] = []
    for path in files:
        rel = path.relative_to(ROOT)
        if path.suffix in (".sqlite3", ".db", ".sqlite", ".pem", ".key", ".p12", ".pfx") or path.name in (
            "passwd",
            ".env",
        ):
            found.append(f"{rel}: a file of this kind must not be in the repository")
            continue
        text = _text(path)
        if text is None:
            continue
        for name, pattern in (("private key", PRIVATE_KEY), ("token", TOKENS), ("secret in env", SECRET_ENV)):
            if pattern.search(text):
                found.append(f"{rel}: {name}")
        if HASH_LINE.search(text):
            found.append(f"{rel}: password hash line")
        if path.suffix in CONFIG_SUFFIXES:
            for m in CONFIG_SECRET.finditer(text):
                found.append(f"{rel}: {m.group(0).strip()[:40]}…")
    assert found == [], "secrets in the repository:\n" + "\n".join(found)


def test_the_running_command_secret_is_in_no_file() -> None:
    secret = os.environ.get("LOBBY_COMMAND_SECRET")
    candidates = [secret] if secret else []
    for path in _repo_files():
        text = _text(path)
        if text is not None:
            for value in candidates:
                assert value not in text, f"{path} contains LOBBY_COMMAND_SECRET"


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The patterns match real secrets (so the tests above can fail)."""
    assert PRIVATE_KEY.search("-----BEGIN " + "OPENSSH PRIVATE KEY-----")
    assert SECRET_ENV.search("export LOBBY_COMMAND_SECRET=" + "3f9a" * 8)
    assert not SECRET_ENV.search("LOBBY_MQTT_PASSWORD=… lobby server")
    assert CONFIG_SECRET.search("mqtt_password: " + "hunter2hunter2")
    assert CONFIG_SECRET.search("command_secret = '" + "abcdef123456'")
    assert not CONFIG_SECRET.search("mqtt_password: null")
    assert not CONFIG_SECRET.search("password_file /etc/mosquitto/lobby/passwd")
    assert HASH_LINE.search("robot-1:$7$101$" + "abc")
