"""The node turns detections published as CoT into tracks it commits and relays."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from kizuna.cot import Event, Point, event_to_xml
from kizuna.errors import ConfigError
from kizuna.fusion import LocalPlane
from kizuna.identity import registry_from_mapping
from kizuna.labels import default_table, parse_banner
from kizuna.node import NodeConfig, NodeServer, TcpConfig, TrackingConfig, config_from_mapping
from kizuna.store import SqliteStore

from ._support import REGISTRY, now_ms, open_tcp

PLANE = LocalPlane(30.0, 140.0)


def detection(k: int, banner: str) -> Event:
    t = now_ms()
    lat, lon = PLANE.to_geodetic(500.0 + 50.0 * k, -300.0)
    return Event(
        uid=f"radar-det-{k}",
        type="b-d-s",
        time=t,
        start=t,
        stale=t + timedelta(seconds=30),
        point=Point(lat, lon, ce=15.0),
        how="m-r",
        label=parse_banner(banner, default_table()),
    )


async def test_detections_become_relayed_and_stored_tracks(tmp_path: Path) -> None:
    config = NodeConfig(
        nation="USA", store_path=tmp_path / "events.db", registry=tmp_path / "registry.toml",
        default_label=parse_banner("UNCLASSIFIED", default_table()),
        tcp=TcpConfig("tools-usa", 0, allow_cleared=True),
        tracking=TrackingConfig((30.0, 140.0), scan_s=0.1),
    )  # fmt: skip
    store = SqliteStore(config.store_path)
    node = NodeServer(config, registry_from_mapping(tomllib.loads(REGISTRY)), store)
    await node.start()
    try:
        assert node.tcp_port is not None
        sensor, watcher = await open_tcp(node.tcp_port), await open_tcp(node.tcp_port)
        await asyncio.sleep(0.2)
        for k in range(6):
            await sensor.send(event_to_xml(detection(k, "SECRET//REL TO USA, JPN")))
            await asyncio.sleep(0.15)
        got = await watcher.events(12, timeout=5.0)
        tracks = [e for e in got if e.uid.startswith("track-")]
        assert tracks, [e.uid for e in got]
        assert {str(e.label and e.label.level) for e in tracks} == {"SECRET"}
        x, y = PLANE.to_local(tracks[-1].point.lat, tracks[-1].point.lon)
        assert 400.0 < x < 900.0  # the target moves east from 500 m
        assert abs(y + 300.0) < 100
        window = (now_ms() - timedelta(minutes=5), now_ms() + timedelta(minutes=5))
        stored = [r.event.uid for r in await store.replay(*window)]
        assert any(uid.startswith("track-") for uid in stored)  # committed like any event
        await sensor.close()
        await watcher.close()
    finally:
        await node.stop()


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"origin_lat": 95.0, "origin_lon": 140.0}, "tracking.origin_lat"),
        ({"origin_lon": 140.0}, "tracking.origin_lat"),
        ({"origin_lat": 30.0, "origin_lon": 140.0, "colour": 1}, "tracking"),
        ({"origin_lat": 30.0, "origin_lon": 140.0, "scan_s": 0}, "tracking.scan_s"),
    ],
)
def test_bad_tracking_config_names_the_field(
    section: dict[str, object], field: str, tmp_path: Path
) -> None:
    raw = {
        "node": {"nation": "USA", "registry": "r.toml", "default_label": "UNCLASSIFIED"},
        "tcp": {"enabled": True, "identity": "tools-usa"},
        "tracking": section,
    }
    with pytest.raises(ConfigError) as err:
        config_from_mapping(raw, tmp_path)
    assert err.value.field == field
