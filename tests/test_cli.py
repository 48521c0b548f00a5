"""The `lobby` command: help everywhere, one-line errors and non-zero exits on bad input."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from lobby.settings import load_settings
from queue_bridge.sim import simulate_day
from queue_bridge.site import load_site
from queue_bridge.store import EventStore
from tests.support import free_port


def lobby(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lobby.cli", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["server"],
        ["sim"],
        ["sim", "queue"],
        ["opendata"],
        ["opendata", "export"],
        ["ask"],
        ["transcribe"],
        ["say"],
    ],
)
def test_every_subcommand_has_help(command: list[str]) -> None:
    result = lobby(*command, "--help")
    assert result.returncode == 0 and "usage: lobby" in result.stdout


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_bad_inputs_give_one_line_errors(tmp_path: Path) -> None:
    assert "not a time" in one_line_error(lobby("demo", "--start", "25:99"))
    assert "cannot read site config" in one_line_error(
        lobby("sim", "queue", "--dry-run", "--site", str(tmp_path / "nope.yaml"))
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("site: x\nqueues: []\nwindows: []\nname: {ja: a, en: b}\n")
    assert "invalid site config" in one_line_error(lobby("sim", "queue", "--dry-run", "--site", str(broken)))
    assert "no event log" in one_line_error(
        lobby("opendata", "export", "--db", str(tmp_path / "none.sqlite3"))
    )
    closed = free_port()
    assert "cannot connect" in one_line_error(lobby("sim", "queue", "--mqtt-port", str(closed), timeout=30))
    assert "invalid choice" in one_line_error(lobby("fly"))


def test_opendata_export_writes_the_csv(tmp_path: Path) -> None:
    site = load_site()
    db = tmp_path / "events.sqlite3"
    store = EventStore(db)
    store.append(simulate_day(site, date(2026, 4, 1), seed=2))
    store.close()
    out = tmp_path / "waiting-times.csv"
    result = lobby("opendata", "export", "--db", str(db), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and {"A", "B", "C"} == {r["queue"] for r in rows}


def test_settings_from_yaml_env_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "lobby.yaml"
    config.write_text("web_port: 9001\nmqtt_port: 1999\nsim_speed: 10\n")
    monkeypatch.setenv("LOBBY_MQTT_PORT", "2883")
    settings = load_settings(config, sim_speed=None, web_host="0.0.0.0")
    assert (settings.web_port, settings.mqtt_port, settings.sim_speed, settings.web_host) == (
        9001,
        2883,
        10,
        "0.0.0.0",
    )
    assert load_settings().web_host == "127.0.0.1"  # servers bind to loopback unless configured
    config.write_text("web_prot: 1\n")
    with pytest.raises(ValueError):
        load_settings(config)


def test_ask_answers_as_json_and_refuses_bad_input() -> None:
    import json

    result = lobby("ask", "Where is the toilet?", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["procedure"] is None and answer["destination"] == "restroom" and answer["lang"] == "en"
    assert answer["handoff"] is False and "restroom" in answer["answer"]
    answer = json.loads(lobby("ask", "住民票がほしいです", "--json").stdout)
    assert answer["procedure"] == "resident_certificate" and answer["lang"] == "ja"
    assert "empty question" in one_line_error(lobby("ask", "  "))
    assert "unknown language 'fr'" in one_line_error(lobby("ask", "hello", "--lang", "fr"))


def test_ask_learns_from_an_operators_examples_file(tmp_path: Path) -> None:
    import json

    question = "The vending machine ate my coins"  # no phrase of the knowledge base, no shipped example
    mine = tmp_path / "examples.yaml"
    mine.write_text(
        "examples:\n"
        "  information_desk: [the vending machine ate my coins, the machine took my money]\n"
        "  handoff: [is the cafeteria open, where can I park]\n",
        encoding="utf-8",
    )
    assert json.loads(lobby("ask", question, "--json").stdout)["handoff"] is True  # shipped examples
    answer = json.loads(lobby("ask", question, "--json", "--examples", str(mine)).stdout)
    assert answer["destination"] == "information_desk" and answer["handoff"] is False
    assert 0.3 <= answer["guessed"] <= 1  # no phrase matched: the examples chose
    broken = tmp_path / "broken.yaml"
    broken.write_text("examples: [a, b]\n", encoding="utf-8")
    error = one_line_error(lobby("ask", question, "--examples", str(broken)))
    assert "broken.yaml" in error and "omit --examples" in error


def test_say_then_transcribe_round_trips_and_bad_audio_is_refused(tmp_path: Path) -> None:
    import json

    wav = tmp_path / "question.wav"
    # The plumbing say → WAV → transcribe; accuracy is bench/speech.py's job. (Whisper base with the
    # fitted window hears "住民票はどこでもらえますか" in this voice as 住民庁 — its 30 s window
    # did not; over the 280 test utterances both score the same, see docs/benchmarks.md.)
    said = lobby("say", "住民票の写しがほしいです", "--out", str(wav), "--json", timeout=120)
    assert said.returncode == 0, said.stderr
    assert json.loads(said.stdout)["lang"] == "ja" and wav.stat().st_size > 16000
    heard = lobby("transcribe", str(wav), "--json", timeout=120)
    assert heard.returncode == 0, heard.stderr
    result = json.loads(heard.stdout)
    assert result["lang"] == "ja" and "住民票" in result["text"] and 1.0 < result["duration_s"] < 5.0
    (tmp_path / "notes.wav").write_text("not audio")
    assert "notes.wav" in one_line_error(lobby("transcribe", str(tmp_path / "notes.wav")))
    loud = tmp_path / "44k.wav"
    assert lobby("say", "hello", "--out", str(loud), "--rate", "44100").returncode == 0
    assert "16 kHz" in one_line_error(lobby("transcribe", str(loud)))
    assert "empty text" in one_line_error(lobby("say", " ", "--out", str(tmp_path / "x.wav")))
    assert "unknown language 'xx'" in one_line_error(lobby("say", "hi", "--lang", "xx", "--out", "x.wav"))
