from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kizuna.errors import PolicyError
from kizuna.labels import decide, load_table
from kizuna.labels._table import default_table

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SHIPPED = Path(__file__).parents[2] / "src/kizuna/labels/data/policies.toml"

KOR = """
[policies.KOR]
levels = [
    { name = "III", banner = "KOR III" },
    { name = "II", banner = "KOR II" },
    { name = "I", banner = "KOR I" },
]
"""


def with_korea(tmp_path: Path) -> Path:
    text = SHIPPED.read_text()
    text = text.replace('JPN = "HI"\n', 'JPN = "HI"\nKOR = "III"\n')
    text = text.replace('JPN = "GOKUHI"\n', 'JPN = "GOKUHI"\nKOR = "II"\n')
    text = text.replace('JPN = "KIMITSU"\n', 'JPN = "KIMITSU"\nKOR = "I"\n')
    path = tmp_path / "policies.toml"
    path.write_text(text + KOR)
    return path


def test_adding_korea_is_a_data_change(tmp_path: Path) -> None:
    table = load_table(with_korea(tmp_path))
    kor = {"nation": "KOR", "clearance": "KOR:II", "expires": "2027-01-01", "status": "active"}
    assert decide("SECRET//REL TO USA, KOR", kor, NOW, table).permit
    assert not decide("TOP SECRET//REL TO USA, KOR", kor, NOW, table).permit
    assert decide(
        "KOR II//REL TO KOR, JPN", {**kor, "nation": "JPN", "clearance": "JPN:GOKUHI"}, NOW, table
    ).permit
    # without the data change, a Korean clearance is a malformed request
    assert not decide("SECRET//REL TO USA, KOR", kor, NOW, default_table()).permit


def test_the_shipped_table_loads() -> None:
    assert load_table(SHIPPED) == default_table()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('JPN = "GOKUHI"\n', 'JPN = "HI"\n', "two equivalence rows"),
        ('USA = "SECRET"\n', 'USA = "SEKRET"\n', "unknown level"),
        ('home = "USA"', 'home = "XYZ"', "not a known nation"),
        ('FVEY = ["USA",', 'FVEY = ["XYZ", "USA",', "unknown nations"),
        ('banner = "JPN HI"', 'banner = "SECRET"', "used twice"),
        ("[unclassified]", "[unclassifiedx]", "missing"),
    ],
)
def test_inconsistent_tables_are_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SHIPPED.read_text().replace(old, new, 1))
    with pytest.raises(PolicyError, match=message):
        load_table(path)


def test_unreadable_table(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        load_table(tmp_path / "absent.toml")
    (tmp_path / "broken.toml").write_text("[[[")
    with pytest.raises(PolicyError):
        load_table(tmp_path / "broken.toml")
