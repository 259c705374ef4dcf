"""The Teams app package and the serve-time safety check, without any network."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.platforms import load_config
from adapters.teams import check_host
from bot.errors import PolicybotError
from tests.adaptive_schema import check_card
from tests.teams_client import write_config

APP_ID = "0f0f0f0f-1111-4222-8333-444444444444"  # made up


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (depth, colour) == (8, 6)
    length = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41 : 41 + length])
    pixels = []
    stride = width * 4 + 1
    for y in range(height):
        row = raw[y * stride + 1 : (y + 1) * stride]
        pixels += [tuple(row[i : i + 4]) for i in range(0, len(row), 4)]
    return width, height, pixels


def test_teams_package_has_manifest_commands_and_icons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    config = write_config(tmp_path, APP_ID, "made-up-test-secret")
    out = tmp_path / "policybot-teams.zip"
    assert (
        main(
            [
                "teams-package",
                "--config",
                str(config),
                "--out",
                str(out),
                "--website",
                "https://pennington.example.sch.uk/",
            ]
        )
        == 0
    )
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(z.read("manifest.json"))
        colour = read_png(z.read("color.png"))
        outline = read_png(z.read("outline.png"))
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert manifest["bots"][0]["scopes"] == ["personal", "team"]
    titles = [c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]]
    # Teams allows ten suggestions: everyone's commands come first, SLT- and admin-only ones after.
    assert titles[:2] == ["help", "new-account"] and len(titles) == 10
    assert {"report-abuse", "compromising-image", "media-enquiry", "pupil-contact"} <= set(titles)
    assert {"post-check", "log-comment", "log-post", "waiting"} <= set(titles)  # the everyday ones
    from bot.registry import default_registry

    role_only = {name for name, _summary, role in default_registry().menu() if role}
    assert not role_only & set(titles)  # ten places, and more than ten commands for everyone: theirs come first
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    assert colour[:2] == (192, 192) and outline[:2] == (32, 32)
    assert all(p[3] == 255 for p in colour[2])  # the colour icon is opaque
    assert all(p[:3] == (255, 255, 255) or p[3] == 0 for p in outline[2])  # outline: white or transparent only
    assert any(p[3] == 255 for p in outline[2]) and any(p[3] == 0 for p in outline[2])
    assert "Wrote" in capsys.readouterr().out


def test_teams_package_needs_an_app_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    config = write_config(tmp_path)
    assert main(["teams-package", "--config", str(config), "--out", str(tmp_path / "x.zip")]) == 2
    assert "app_id is needed" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()


def test_serve_without_app_id_only_on_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    anonymous = load_config(write_config(tmp_path))
    for host in ("127.0.0.1", "localhost", "::1"):
        check_host(anonymous, host)
    for host in ("0.0.0.0", "192.168.1.20"):
        with pytest.raises(PolicybotError, match=r"only listen on 127\.0\.0\.1"):
            check_host(anonymous, host)
    check_host(load_config(write_config(tmp_path, APP_ID, "made-up-test-secret")), "0.0.0.0")


def test_every_question_kind_renders_a_valid_card() -> None:
    from adapters.teams.cards import parse_submit, render_card
    from bot.messages import Button, Card, Choice, Question
    from bot.people import Directory

    directory = Directory(load_config(None).people)
    choices = (Choice("a", "Apples"), Choice("b", "Bananas"))
    for kind in ("text", "choice", "multi", "person", "people", "date", "datetime", "yesno"):
        q = Question(
            "key1",
            kind,
            "Pick?",
            choices
            if kind in ("choice", "multi")
            else (Choice("yes", "Yes"), Choice("no", "No"))
            if kind == "yesno"
            else (),
            optional=kind == "text",
            workflow="wf",
        )
        card = render_card(
            Card(
                "Title",
                "Body\nsecond line",
                fields=(("Run by", "Emma\nTom"),),
                buttons=(Button(action="wf.go", label="Go", data={"id": "1"}),),
                question=q,
                tone="urgent",
            ),
            directory,
        )
        assert not check_card(card), kind
        assert card["version"] == "1.5" and card["actions"]
    assert (
        parse_submit({"action": "answer", "workflow": "wf", "key": "k", "value": "2026-11-25", "value_time": "14:05"})[
            1
        ]["value"]
        == "2026-11-25 14:05"
    )
    assert parse_submit({"action": "answer", "workflow": "wf", "key": "k", "values": "eclarke,treid"})[1]["value"] == [
        "eclarke",
        "treid",
    ]
    assert parse_submit({"action": "answer", "workflow": "wf", "key": "k", "value": ""})[1]["value"] == "skip"
