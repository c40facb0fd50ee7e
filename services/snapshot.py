"""The in-memory dataset of one data version, saved on disk for every worker.

The first process that needs a data version builds its columns from the
database and writes them under `<instance_dir>/cache/dataset/<key>/`: one
`.npy` file per array and a `layout.json` that says how the arrays fit
together (ids, labels and names ride along as JSON). Every later process
maps the arrays read-only with `np.load(mmap_mode="r")`, so workers share
the page cache instead of each holding a copy, and a restarted worker is
ready in well under a second.

A snapshot is written to a hidden temporary folder and renamed into place,
so a reader sees a whole snapshot or none; a file lock keeps two processes
from building the same version at once. Writing a version deletes the
folders of older ones.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

LAYOUT_FILE = "layout.json"
LOCK_FILE = ".build.lock"
TEMPORARY_PREFIX = ".writing-"
FORMAT_VERSION = 1


class SnapshotError(Exception):
    """A snapshot folder cannot be written; the message names the folder."""


def get_snapshot_root(instance_dir: Path) -> Path:
    return Path(instance_dir) / "cache" / "dataset"


def get_snapshot_dir(instance_dir: Path, database: str, key: tuple) -> Path:
    """The folder of one database's dataset for a version and salary range.

    The name is a digest: data versions are opaque strings, and two
    databases served from one instance folder must not share a snapshot.
    """
    text = json.dumps([FORMAT_VERSION, database, *key])
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    return get_snapshot_root(instance_dir) / digest


@contextmanager
def building_lock(instance_dir: Path):
    """Hold the instance's build lock: one process builds a snapshot at a time."""
    root = get_snapshot_root(instance_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle = open(root / LOCK_FILE, "a+b")  # noqa: SIM115
    except OSError as error:
        raise SnapshotError(
            f"cannot create the dataset snapshot folder {root}: {error}; "
            "check that INSTANCE_DIR is a writable folder"
        ) from error
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_building(instance_dir: Path) -> bool:
    """Does another process hold the build lock right now? Never waits."""
    path = get_snapshot_root(instance_dir) / LOCK_FILE
    try:
        handle = open(path, "a+b")  # noqa: SIM115
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def is_saved(folder: Path) -> bool:
    """Is a whole snapshot in `folder` (written and renamed into place)?"""
    return (folder / LAYOUT_FILE).is_file()


# --- writing -----------------------------------------------------------------


def save_snapshot(folder: Path, value, replace: bool = True) -> None:
    """Write `value` (a dataclass tree of arrays) atomically into `folder`.

    With `replace`, sibling folders of older versions are deleted afterwards
    (those whose name extends this one's, its companions, stay); a process
    that still maps their files keeps reading them until it lets go.
    """
    started = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX, dir=folder.parent))
    try:
        arrays: list[np.ndarray] = []
        layout = {"format": FORMAT_VERSION, "root": _pack(value, arrays)}
        for number, array in enumerate(arrays):
            np.save(temporary / f"{number}.npy", array, allow_pickle=False)
        (temporary / LAYOUT_FILE).write_text(json.dumps(layout), encoding="utf-8")
        os.replace(temporary, folder)
    except OSError as error:
        shutil.rmtree(temporary, ignore_errors=True)
        raise SnapshotError(
            f"cannot write the dataset snapshot {folder}: {error}; "
            "check that the instance folder is writable and has free space"
        ) from error
    if replace:
        _delete_other_snapshots(folder)
    logger.info(
        "Saved dataset snapshot %s: %d arrays, %.0f MB in %.2f s",
        folder.name,
        len(arrays),
        sum(array.nbytes for array in arrays) / 2**20,
        time.perf_counter() - started,
    )


def _delete_other_snapshots(keep: Path) -> None:
    for folder in keep.parent.iterdir():
        if folder.name.startswith(keep.name) or not folder.is_dir():
            continue
        if folder.name.startswith(TEMPORARY_PREFIX):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        logger.info("Deleted old dataset snapshot %s", folder.name)


def _pack(value, arrays: list[np.ndarray]):
    """A JSON description of `value`; its numeric arrays go to `arrays`."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return {"strings": [None if v is None else str(v) for v in value]}
        if value.size == 0:
            # An empty file cannot be mapped; its type is enough to rebuild it.
            return {"empty": value.dtype.str, "shape": list(value.shape)}
        arrays.append(np.ascontiguousarray(value))
        return {"array": len(arrays) - 1}
    if dataclasses.is_dataclass(value):
        return {
            "class": type(value).__name__,
            "fields": {
                f.name: _pack(getattr(value, f.name), arrays)
                for f in dataclasses.fields(value)
                if f.metadata.get("snapshot", True)
            },
        }
    if isinstance(value, dict):
        return {"dict": [[_pack_key(k), _pack(v, arrays)] for k, v in value.items()]}
    if isinstance(value, set):
        return {"set": sorted(value)}
    if isinstance(value, np.generic):
        return {"value": value.item()}
    return {"value": value}


def _pack_key(key):
    if isinstance(key, tuple):
        return {"tuple": list(key)}
    return key.item() if isinstance(key, np.generic) else key


# --- reading -----------------------------------------------------------------


def load_snapshot(folder: Path, classes: dict):
    """The value saved in `folder`, arrays mapped read-only; None if absent.

    `classes` maps the dataclass names of the layout to their types. A
    folder deleted while being read (a newer version replaced it) or one
    that cannot be read reads as absent too.
    """
    try:
        layout = json.loads((folder / LAYOUT_FILE).read_text(encoding="utf-8"))
        if layout.get("format") != FORMAT_VERSION:
            return None
        return _unpack(layout["root"], folder, classes)
    except OSError as error:
        logger.debug("No readable dataset snapshot in %s: %s", folder, error)
        return None


def _unpack(packed: dict, folder: Path, classes: dict):
    if "array" in packed:
        mapped = np.load(folder / f"{packed['array']}.npy", mmap_mode="r")
        # A plain view keeps the mapping alive without memmap's own semantics.
        return mapped.view(np.ndarray)
    if "empty" in packed:
        return np.empty(packed["shape"], dtype=np.dtype(packed["empty"]))
    if "strings" in packed:
        strings = np.empty(len(packed["strings"]), dtype=object)
        strings[:] = packed["strings"]
        return strings
    if "class" in packed:
        fields = {
            name: _unpack(part, folder, classes)
            for name, part in packed["fields"].items()
        }
        return classes[packed["class"]](**fields)
    if "dict" in packed:
        return {
            _unpack_key(key): _unpack(part, folder, classes)
            for key, part in packed["dict"]
        }
    if "set" in packed:
        return set(packed["set"])
    return packed["value"]


def _unpack_key(key):
    if isinstance(key, dict):
        return tuple(key["tuple"])
    return key
