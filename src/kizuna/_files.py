"""Files that hold data or keys: created 0600 before the first byte is written.

SQLite gives a database's ``-wal`` and ``-shm`` files the mode of the database file itself,
so creating the database file 0600 first is enough to keep its journal private too.
"""

from __future__ import annotations

import os
from pathlib import Path

from kizuna.errors import ConfigError

__all__ = ["create_private", "write_private"]

_MODE = 0o600


def create_private(path: Path | str) -> Path:
    """Make sure ``path`` exists as a file only its owner can read or write.

    A new file is created with mode 0600 atomically (``O_CREAT | O_EXCL``), so no other user
    can open it between its creation and a chmod. An existing file is left as it is, but
    one that others may read is refused: tightening it now would not undo what was read."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
    except FileExistsError:
        mode = p.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                f"{p} is readable by others (mode {mode:o}); make it 0600", field=str(p)
            ) from None
        return p
    except OSError as exc:
        raise ConfigError(f"cannot create {p}: {exc.strerror}", field=str(p)) from exc
    os.close(fd)
    return p


def write_private(path: Path | str, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to a new 0600 file; an existing file is refused unless ``overwrite``,
    which replaces it through a fresh 0600 file renamed into place."""
    p = Path(path)
    target = p.with_name(p.name + ".tmp") if overwrite else p
    try:
        if overwrite:
            target.unlink(missing_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
    except FileExistsError:
        raise ConfigError(f"{p} exists; refusing to overwrite it", field=str(p)) from None
    except OSError as exc:
        raise ConfigError(f"cannot create {p}: {exc.strerror}", field=str(p)) from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if overwrite:
        target.replace(p)
    return p
