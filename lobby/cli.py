"""The `lobby` command: one entry point, one subcommand per capability.

Every subcommand has --help, prints JSON with --json where it reports something, and exits
non-zero with a one-line error on bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from lobby.errors import CliError
from lobby.settings import Settings, load_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from robot.runner import Runner


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where to find help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _time(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time of day (HH:MM): {text!r}") from None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    values = {
        "site_file": getattr(args, "site", None),
        "web_host": getattr(args, "host", None),
        "web_port": getattr(args, "port", None),
        "mqtt_host": getattr(args, "mqtt_host", None),
        "mqtt_port": getattr(args, "mqtt_port", None),
        "db_path": getattr(args, "db", None),
        "sim_speed": getattr(args, "speed", None),
        "sim_seed": getattr(args, "seed", None),
        **overrides,
    }
    try:
        return load_settings(getattr(args, "config", None), **values)
    except ValueError as exc:
        raise CliError(str(exc).splitlines()[0]) from None


def _site(settings: Settings):  # type: ignore[no-untyped-def]
    from queue_bridge.site import SiteConfigError, load_site

    try:
        return load_site(settings.site_file)
    except SiteConfigError as exc:
        raise CliError(str(exc)) from None


# -- subcommands ---------------------------------------------------------------------------


def cmd_server(args: argparse.Namespace) -> int:
    from queue_bridge.server import build_app, serve

    settings = _settings(args, embedded_broker=True if args.embedded_broker else None)
    app = build_app(settings, _site(settings))
    print(f"Lobby Guide bridge: http://{settings.web_host}:{settings.web_port}/", flush=True)
    serve(app, settings)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import secrets

    from queue_bridge.server import build_app, serve

    workdir = Path(tempfile.mkdtemp(prefix="lobby-demo-"))
    db = args.db or workdir / "events.sqlite3"
    # A command secret for this run only: to the bridge here and to the robot by its environment.
    secret = secrets.token_urlsafe(32)
    settings = _settings(
        args,
        embedded_broker=True,
        db_path=db,
        command_secret=secret,
        staff_db_path=workdir / "staff.sqlite3",
        staff_cookie_secure=False,  # plain http on this machine's loopback
    )
    site = _site(settings)
    app = build_app(settings, site, simulate=True, sim_start=args.start)
    url = f"http://{settings.web_host}:{settings.web_port}"
    print(
        f"Lobby Guide demo ({site.name.en}): open {url}/ on a phone or browser.\n"
        f"MQTT broker 127.0.0.1:{settings.mqtt_port}, simulator at "
        f"{settings.sim_speed:g}x from {args.start}. Press Ctrl-C to stop.",
        flush=True,
    )
    password = secrets.token_urlsafe(12)
    _demo_admin(settings, password)
    print(f"Staff dashboard: {url}/staff  user {DEMO_ADMIN}, password {password} (this run only)", flush=True)
    robot = None if args.no_robot else _demo_robot(settings, secret, workdir)
    if robot is not None:
        _stop_alongside(app, robot.stop_all)
    try:
        serve(app, settings)
    finally:
        if robot is not None:
            robot.stop_all()
    print("stopped.")
    return 0


DEMO_ADMIN = "demo-admin"


def _stop_alongside(app: FastAPI, stop: Callable[[], None]) -> None:
    """Run `stop` (the robot's Ctrl-C) first when the app shuts down, while the embedded broker is
    still up (the robot says goodbye on MQTT instead of waiting for a broker that is gone)."""
    import asyncio
    import contextlib
    from collections.abc import AsyncIterator

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            yield
            await asyncio.to_thread(stop)

    app.router.lifespan_context = lifespan


def _demo_admin(settings: Settings, password: str) -> None:
    """The demo's staff account (admin), in the demo's own staff database."""
    from datetime import UTC

    from queue_bridge.auth import Role, hash_password
    from queue_bridge.staff_store import StaffStore

    store = StaffStore(settings.staff_db_path)
    try:
        store.add_user(DEMO_ADMIN, Role.parse("admin"), hash_password(password), datetime.now(UTC))
    finally:
        store.close()


def _demo_robot(settings: Settings, secret: str, workdir: Path) -> Runner:
    """A simulated robot (`lobby robot --sim`, without a camera) and simulated visitors who walk up
    to it and speak (as text on /speech/transcript), as child processes; their output goes to a log."""
    import os

    import yaml

    from robot.launch_spec import default_params_file
    from robot.runner import Child, Runner

    params = yaml.safe_load(default_params_file().read_text(encoding="utf-8"))
    params["speech_listener"]["ros__parameters"]["source"] = "topic"  # no microphone in a demo
    params["dialogue"]["ros__parameters"]["unanswered_log"] = str(workdir / "unanswered.jsonl")
    params_file = workdir / "robot.yaml"
    params_file.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    env = {
        **os.environ,
        "LOBBY_COMMAND_SECRET": secret,
        "LOBBY_MQTT_HOST": settings.mqtt_host,
        "LOBBY_MQTT_PORT": str(settings.mqtt_port),
        "LOBBY_ROBOT_EXAMPLES_CACHE": str(workdir / "taught-examples.json"),
        "PYTHONUNBUFFERED": "1",
    }
    if settings.site_file is not None:
        env["LOBBY_SITE_FILE"] = str(Path(settings.site_file).resolve())
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    env.setdefault("ROS_LOG_DIR", str(workdir / "ros-logs"))
    python = sys.executable
    children = [
        Child("robot", [python, "-m", "lobby.cli", "robot", "--sim", "--without", "perception",
                        "--params", str(params_file), "--stop-timeout", "3"]),
        Child("visitors", [python, "-m", "robot.visitors"]),
    ]  # fmt: skip
    log_path = workdir / "robot.log"
    log = log_path.open("ab")

    def report(line: str) -> None:
        print(f"lobby demo: {line}", flush=True)

    # The robot stops its nodes within 3 s (--stop-timeout above); a child still there after 4 s is
    # killed, so that Ctrl-C ends the demo within 5 s even if one hangs on its way out.
    runner = Runner(children, env, stop_timeout_s=4.0, keep_going=True, report=report, output=log)
    runner.start()
    print(
        f"Simulated robot {settings.robot_id} with simulated visitors; their log: {log_path}",
        flush=True,
    )
    return runner


def cmd_sim_queue(args: argparse.Namespace) -> int:
    from queue_bridge.sim import simulate_day

    settings = _settings(args)
    site = _site(settings)
    day = args.date or datetime.now(site.tz).date()
    if args.dry_run:
        events = simulate_day(site, day, seed=settings.sim_seed)
        for e in events:
            print(e.model_dump_json())
        return 0
    from queue_bridge.sim_publish import SimPublisher

    sim = SimPublisher(site, settings, day=day, start_at=args.start)
    sim.start()
    if not sim.connected.wait(10):
        sim.stop()
        raise CliError(
            f"cannot connect to MQTT broker {settings.mqtt_host}:{settings.mqtt_port}; is it running?"
        )
    print(
        f"publishing {len(sim.events)} events for {day} at {settings.sim_speed:g}x ...",
        file=sys.stderr,
        flush=True,
    )
    try:
        sim.join()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    result = {"published": sim.published, "total": len(sim.events), "day": day.isoformat()}
    print(json.dumps(result) if args.json else f"published {sim.published} of {len(sim.events)} events")
    return 0


def cmd_opendata_export(args: argparse.Namespace) -> int:
    from queue_bridge.opendata import waiting_time_rows, waiting_times_csv
    from queue_bridge.store import EventStore

    settings = _settings(args)
    site = _site(settings)
    if not Path(settings.db_path).exists():
        raise CliError(f"no event log at {settings.db_path}; pass --db PATH")
    store = EventStore(settings.db_path)
    rows = waiting_time_rows(store.replay(), site)
    store.close()
    text = waiting_times_csv(rows)
    if args.out:
        tmp = Path(f"{args.out}.tmp")
        tmp.write_text(text, encoding="utf-8", newline="")
        tmp.replace(args.out)  # atomic: never a half-written file
    else:
        sys.stdout.write(text)
    if args.json:
        print(json.dumps({"rows": len(rows), "out": str(args.out) if args.out else None}), file=sys.stderr)
    return 0


def cmd_queue_replay(args: argparse.Namespace) -> int:
    from queue_bridge.replay import (
        ESTIMATORS,
        ReplayError,
        parse_events,
        predictions_csv,
        replay,
        write_atomically,
    )

    settings = _settings(args)
    site = _site(settings)
    try:
        text = Path(args.events).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {args.events}: {exc}") from None
    try:
        events = parse_events(text, site)
    except ReplayError as exc:
        raise CliError(f"{args.events}: {exc}") from None
    print(f"replaying {len(events)} events with {args.estimator} ...", file=sys.stderr, flush=True)
    rows = replay(events, site, ESTIMATORS[args.estimator]())
    try:
        write_atomically(args.out, predictions_csv(rows))
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc}") from None
    summary = {
        "events": len(events),
        "predictions": len(rows),
        "out": str(args.out),
        "estimator": args.estimator,
    }
    print(json.dumps(summary) if args.json else f"wrote {len(rows)} predictions to {args.out}")
    return 0


def _lang(text: str) -> str:
    if text not in ("ja", "en", "auto"):
        raise argparse.ArgumentTypeError(f"unknown language {text!r}: use ja, en or auto")
    return text


def _knowledge(settings: Settings):  # type: ignore[no-untyped-def]
    """The site's guide section; the site file itself is read (and its errors reported) by _site."""
    from speech.knowledge import KnowledgeError, knowledge_of

    try:
        return knowledge_of(_site(settings), str(settings.site_file or "bundled demo site"))
    except KnowledgeError as exc:
        raise CliError(str(exc)) from None


def cmd_ask(args: argparse.Namespace) -> int:
    from speech.dialogue import Dialogue
    from speech.examples import EXAMPLES, ExamplesError, shipped_classifier

    text = args.text.strip()
    if not text:
        raise CliError("empty question: say what you came for, e.g. lobby ask '住民票がほしい'")
    knowledge = _knowledge(_settings(args))
    try:
        examples = shipped_classifier(args.examples or EXAMPLES)
    except ExamplesError as exc:
        raise CliError(f"{exc} (omit --examples for the shipped ones)") from None
    reply = Dialogue(knowledge, examples=examples).respond(text, None if args.lang == "auto" else args.lang)
    result: dict[str, object] = {
        "procedure": reply.procedure,
        "destination": reply.destination,
        "handoff": reply.handoff,
        "answer": reply.text,
        "lang": reply.lang,
    }
    if reply.clarify:
        result["clarify"] = list(reply.clarify)
    if reply.guessed is not None:
        result["guessed"] = round(reply.guessed, 2)
    print(json.dumps(result, ensure_ascii=False) if args.json else reply.text)
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    from speech.asr import AsrError, make_recognizer
    from speech.audio import SAMPLE_RATE, AudioError, read_wav
    from speech.models import ModelError

    try:
        audio = read_wav(args.wav, require_rate=SAMPLE_RATE)
        print(f"loading the {args.backend} model ...", file=sys.stderr, flush=True)
        recognizer = make_recognizer(args.backend)
        print(f"recognizing {audio.duration_s:.1f} s of audio ...", file=sys.stderr, flush=True)
        transcript = recognizer.transcribe(audio, None if args.lang == "auto" else args.lang)
    except (AudioError, AsrError, ModelError) as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    result = {"text": transcript.text, "lang": transcript.lang, "duration_s": round(audio.duration_s, 3)}
    print(json.dumps(result, ensure_ascii=False) if args.json else transcript.text)
    return 0


def cmd_say(args: argparse.Namespace) -> int:
    from speech.audio import AudioError, write_wav
    from speech.dialogue import detect_lang
    from speech.tts import Speaker, TtsError

    text = args.text.strip()
    if not text:
        raise CliError("empty text: give the words to say, e.g. lobby say 'こんにちは' --out hello.wav")
    lang = detect_lang(text) if args.lang == "auto" else args.lang
    try:
        audio = Speaker().synthesize(text, lang).resampled(args.rate)
        write_wav(args.out, audio)
    except (TtsError, AudioError) as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc}") from None
    result = {"out": str(args.out), "lang": lang, "duration_s": round(audio.duration_s, 3), "rate": args.rate}
    print(
        json.dumps(result, ensure_ascii=False)
        if args.json
        else f"wrote {audio.duration_s:.1f} s to {args.out}"
    )
    return 0


# -- parser --------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="settings YAML file (see README: Settings)")
    p.add_argument("--site", type=Path, help="site YAML (queues, windows); default: bundled demo site")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="log more")


def _mqtt(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mqtt-host", help="MQTT broker host (default 127.0.0.1)")
    p.add_argument("--mqtt-port", type=int, help="MQTT broker port (default 1883)")


def _web(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="web server bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="web server port (default 8000)")
    p.add_argument("--db", type=Path, help="SQLite event log path")


def _options(p: argparse.ArgumentParser, *groups: Callable[[argparse.ArgumentParser], None]) -> None:
    for add in groups:
        add(p)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lobby", description="Lobby Guide: city-hall guidance robot and queue status.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "demo", help="run broker, bridge, web page, queue simulator and a simulated robot with visitors"
    )
    _options(p, _common, _mqtt, _web)
    p.add_argument("--speed", type=float, help="simulated seconds per real second (default 30)")
    p.add_argument("--seed", type=int, help="simulator random seed")
    p.add_argument(
        "--start", type=_time, default=time(9, 30), help="simulated time of day to start at (HH:MM)"
    )
    p.add_argument(
        "--no-robot", action="store_true", help="leave out the simulated robot and visitors (no ROS 2)"
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("server", help="run the bridge and web server against an MQTT broker")
    _options(p, _common, _mqtt, _web)
    p.add_argument("--embedded-broker", action="store_true", help="also run an in-process MQTT broker")
    p.set_defaults(func=cmd_server)

    sim = sub.add_parser("sim", help="simulators").add_subparsers(dest="sim", required=True, metavar="WHAT")
    p = sim.add_parser("queue", help="publish a simulated city-hall day of ticket events over MQTT")
    _options(p, _common, _mqtt)
    p.add_argument("--speed", type=float, help="simulated seconds per real second (default 30)")
    p.add_argument("--seed", type=int, help="random seed (default 1)")
    p.add_argument("--date", type=_date, help="service day to simulate (default today)")
    p.add_argument("--start", type=_time, help="publish earlier events at once, then play from HH:MM")
    p.add_argument("--dry-run", action="store_true", help="print the events as JSON lines instead")
    p.set_defaults(func=cmd_sim_queue)

    queue = sub.add_parser("queue", help="queue tools").add_subparsers(
        dest="queue", required=True, metavar="WHAT"
    )
    p = queue.add_parser(
        "replay", help="replay an events CSV and write the estimate made at each issued ticket"
    )
    _options(p, _common)
    p.add_argument(
        "events", type=Path, help="CSV with header ts,event,queue,ticket,window, rows in time order"
    )
    p.add_argument("--out", type=Path, required=True, help="predictions CSV to write")
    p.add_argument(
        "--estimator",
        choices=["simulation", "queue_length", "les", "hol", "ql"],
        default="simulation",
        help="estimator to replay (default: simulation, the bridge's)",
    )
    p.set_defaults(func=cmd_queue_replay)

    p = sub.add_parser("ask", help="answer a visitor's question as the robot would (text in, text out)")
    _options(p, _common)
    p.add_argument("text", help="what the visitor said, e.g. '引っ越してきたんですけど'")
    p.add_argument("--lang", type=_lang, default="auto", help="ja, en or auto (default: from the text)")
    p.add_argument(
        "--examples", type=Path, help="intent examples YAML (default: the shipped speech/examples.yaml)"
    )
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("transcribe", help="recognize the speech in a 16 kHz mono WAV file")
    _options(p, _common)
    p.add_argument("wav", type=Path, help="16 kHz mono 16-bit PCM WAV")
    p.add_argument("--lang", type=_lang, default="auto", help="ja, en or auto (default: detect)")
    p.add_argument(
        "--backend", choices=["whisper", "vosk"], default="whisper", help="recognizer (default whisper)"
    )
    p.set_defaults(func=cmd_transcribe)

    p = sub.add_parser("say", help="speak a sentence into a WAV file with the robot's voice")
    _options(p, _common)
    p.add_argument("text", help="what to say")
    p.add_argument("--lang", type=_lang, default="auto", help="ja, en or auto (default: from the text)")
    p.add_argument("--out", type=Path, required=True, help="WAV file to write")
    p.add_argument("--rate", type=int, default=16000, help="sample rate of the WAV (default 16000)")
    p.set_defaults(func=cmd_say)

    from perception import cli as faces_cli
    from queue_bridge import users_cli
    from robot import cli as robot_cli
    from robot.navigation import cli as plan_cli

    p = sub.add_parser("robot", help="run the robot's nodes (or a simulated robot) without ROS 2 launch")
    robot_cli.configure(p)
    _options(p, _common, _mqtt)
    p.set_defaults(func=robot_cli.run)

    p = sub.add_parser("users", help="staff accounts for the fleet dashboard")
    users_cli.configure(p)
    _options(p, _common)
    p.set_defaults(func=users_cli.run)

    p = sub.add_parser(
        "faces", help="find faces in an image (boxes, scores) or print visitor events for a video"
    )
    faces_cli.configure(p)
    _options(p, _common)
    p.set_defaults(func=faces_cli.run)

    p = sub.add_parser("plan", help="plan a path on a floor map between two points or points of interest")
    plan_cli.configure(p)
    _options(p, _common)
    p.set_defaults(func=plan_cli.run)

    od = sub.add_parser("opendata", help="open data").add_subparsers(dest="od", required=True, metavar="WHAT")
    p = od.add_parser("export", help="write waiting-times.csv (15-minute slots) from the event log")
    _common(p)
    p.add_argument("--db", type=Path, help="SQLite event log path")
    p.add_argument("--out", type=Path, help="output CSV file (default: stdout)")
    p.set_defaults(func=cmd_opendata_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CliError as exc:
        print(f"lobby: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
