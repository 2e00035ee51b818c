"""``kizuna fusion``: simulate, track, fuse and score through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

JPN = '{"nation": "JPN", "clearance": "JPN:KIMITSU", "expires": "2030-01-01", "status": "active"}'


def kizuna(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kizuna.cli", "fusion", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fusion") / "sc"
    done = kizuna("simulate", folder, "--targets", "12", "--scans", "40", "--seed", "2")
    assert done.returncode == 0, done.stderr
    return folder


def test_track_score_and_fuse(scenario: Path, tmp_path: Path) -> None:
    for sensor in ("USA", "JPN"):
        done = kizuna("track", scenario, "--sensor", sensor, "--out", tmp_path / f"{sensor}.csv")
        assert done.returncode == 0, done.stderr
        last = done.stdout.strip().splitlines()[-1]
        assert last.startswith("tracking_ms=") and float(last.split("=")[1]) >= 0
    header = (tmp_path / "USA.csv").read_text().splitlines()[0]
    assert header == "time,track_id,x,y,vx,vy,pxx,pxy,pyy"
    done = kizuna("score", scenario, tmp_path / "USA.csv")
    assert done.returncode == 0, done.stderr
    score = json.loads(done.stdout)
    assert score["scans"] == 40 and score["gospa_mean"] < 150 and score["position_rmse"] < 25
    fused = tmp_path / "fused.csv"
    done = kizuna("fuse", tmp_path / "USA.csv", tmp_path / "JPN.csv", "--out", fused)
    assert done.returncode == 0, done.stderr
    fused_score = json.loads(kizuna("score", scenario, fused).stdout)
    assert fused_score["gospa_mean"] < 150


def test_release_aware_fuse_withholds_noforn(scenario: Path, tmp_path: Path) -> None:
    kizuna("track", scenario, "--sensor", "USA", "--out", tmp_path / "a.csv")
    kizuna("track", scenario, "--sensor", "JPN", "--out", tmp_path / "b.csv")
    out = tmp_path / "j.csv"
    done = kizuna(
        "fuse", tmp_path / "a.csv", tmp_path / "b.csv", "--out", out,
        "--label-a", "SECRET//NOFORN", "--label-b", "JPN HI//REL TO USA, JPN", "--viewer", JPN,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "withheld_not_releasable=" in done.stderr
    # Japan's picture from a NOFORN US feed is exactly its own tracks.
    mine = (tmp_path / "b.csv").read_text().splitlines()
    assert len(out.read_text().splitlines()) == len(mine)


def test_bad_input_is_reported_not_fatal(scenario: Path, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    rows = (scenario / "detections_USA.csv").read_text().splitlines()
    rows[3] = "0.0,USA,nan,1,15"
    rows[4] = "0.0,USA,1,1,-2"
    (folder / "detections_USA.csv").write_text("\n".join(rows) + "\n")
    done = kizuna("track", folder, "--sensor", "USA", "--out", tmp_path / "t.csv")
    assert done.returncode == 0, done.stderr
    assert "bad_sigma=1" in done.stderr and "nonfinite=1" in done.stderr
    assert "detections_USA.csv:4: x: NaN or inf" in done.stderr


def test_unknown_sensor_and_missing_files_are_clear_errors(scenario: Path, tmp_path: Path) -> None:
    done = kizuna("track", scenario, "--sensor", "KOR", "--out", tmp_path / "t.csv")
    assert done.returncode == 2
    assert "--sensor KOR" in done.stderr
    done = kizuna("score", tmp_path, tmp_path / "none.csv")
    assert done.returncode == 2 and "truth.csv" in done.stderr


def test_track_takes_motion_noise_pd_and_clutter_options(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    done = kizuna("track", scenario, "--sensor", "USA", "--out", out, "--motion", "cv", "--q", "2")
    assert done.returncode == 0, done.stderr
    args = ("--pd", "0.9", "--clutter-density", "1e-7")
    done = kizuna("track", scenario, "--sensor", "USA", "--out", out, *args)
    assert done.returncode == 0, done.stderr
    for bad, want in (
        (("--motion", "ca"), "--motion ca: must be cv or imm"),
        (("--pd", "1.5"), "--pd: must be in (0, 1)"),
        (("--clutter-density", "0"), "--clutter-density: must be finite and > 0"),
        (("--q", "-1"), "--q: must be finite and >= 0"),
    ):
        done = kizuna("track", scenario, "--out", out, *bad)
        assert done.returncode == 2 and want in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    help_text = kizuna("track", "--help").stdout
    for option in ("--motion", "--q", "--pd", "--clutter-density"):
        assert option in help_text
