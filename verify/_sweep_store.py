"""The result store of a sweep: Parquet parts plus a JSON manifest in one directory.

``points/part-<uuid>.parquet`` holds the rows of points finished together; each part is written to a temporary
name, synced and renamed (atomic on POSIX), so a crash leaves either a whole part or none. The set of finished
points is the union of ``point_id`` over the readable parts on disk (the manifest is a readable index, rewritten
atomically after each part, and never the only record). ``manifest.json`` also holds the spec and its hash, so
``--resume`` refuses a directory made from another spec.

A part that cannot be read (truncated or damaged by something outside nnqg: a full disk, a copy cut short) is
moved to ``damaged/`` with a :class:`SweepStoreWarning`, its points count as not done and ``--resume`` computes
them again.
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

from nnqg.derivations import InvalidArgument

from ._sweep_spec import SweepSpec, n_points

STORE_FORMAT = "nnqg-sweep/1"
COLUMNS = ("point_id", "gamma", "batch_size", "width", "ensemble", "seed", "fp_distance", "fp_se", "fp_within",
           "nu", "d_spread", "osmotic_distance", "osmotic_se", "newton_distance", "newton_se", "circulation_quanta",
           "circulation_se", "madelung_distance", "madelung_within", "schrodinger_distance", "schrodinger_within",
           "nonfinite", "seconds")


#: the grid columns every row starts with, and the bookkeeping it ends with
GRID_COLUMNS = COLUMNS[:6]
TAIL_COLUMNS = COLUMNS[-2:]
_TYPES = {"point_id": "int64", "batch_size": "int64", "width": "int64", "ensemble": "int64", "seed": "int64",
          "nonfinite": "bool_"}


def columns(spec: SweepSpec | None = None) -> tuple[str, ...]:
    """The row of a point: :data:`COLUMNS` for the ensemble (quantum-side) measures; for a kind that measures
    itself, the grid columns, then ``<d>_distance``, ``<d>_se``, ``<d>_within`` for each of its descriptions d
    (followed, for a kind with controls, by ``<d>_positive_distance``, ``<d>_positive_se``,
    ``<d>_negative_distance``, ``<d>_negative_se`` and ``<d>_decision``), then ``nonfinite`` and ``seconds``."""
    if spec is None or spec.kind.measures is None:
        return COLUMNS
    per = ("distance", "se", "within")
    if spec.kind.measures.controls:
        per += ("positive_distance", "positive_se", "negative_distance", "negative_se", "decision")
    own = tuple(f"{d}_{c}" for d in spec.kind.measures.descriptions for c in per)
    return GRID_COLUMNS + own + TAIL_COLUMNS


class SweepStoreWarning(UserWarning):
    """A stored part could not be read and was set aside (its points are computed again)."""


def schema(spec: SweepSpec | None = None) -> Any:
    """The Arrow schema of :func:`columns` (integers, booleans for ``*_within`` and ``nonfinite``, strings for
    ``*_decision``, floats)."""
    import pyarrow as pa

    def typ(c: str) -> Any:
        if c.endswith("_decision"):
            return pa.string()
        return pa.bool_() if c.endswith("_within") else getattr(pa, _TYPES.get(c, "float64"))()

    return pa.schema([(c, typ(c)) for c in columns(spec)])


class ResultStore:
    """Parquet parts plus a JSON manifest in ``root`` (module docstring)."""

    def __init__(self, root: str | os.PathLike[str], spec: SweepSpec, *, resume: bool) -> None:
        self.root = Path(root)
        self.spec = spec
        self.manifest_path = self.root / "manifest.json"
        self.parts_dir = self.root / "points"  # only Parquet parts: pyarrow/pandas can read the directory
        self.damaged_dir = self.root / "damaged"
        self.dropped: list[tuple[str, str]] = []  # (part, reason) of parts set aside
        if self.root.exists() and not self.root.is_dir():
            raise InvalidArgument(f"--out {str(self.root)!r}: exists and is not a directory")
        if self.manifest_path.exists():
            try:
                man = json.loads(self.manifest_path.read_text())
            except (OSError, ValueError) as exc:
                raise InvalidArgument(f"--out {str(self.root)!r}: unreadable manifest.json ({exc})") from None
            if not isinstance(man, dict):
                raise InvalidArgument(f"--out {str(self.root)!r}: manifest.json is not a sweep manifest")
            started = any(self.parts_dir.glob("part-*.parquet"))
            if not resume and (started or man.get("spec_hash") != spec.spec_hash()):
                raise InvalidArgument(f"--out {str(self.root)!r}: already holds a sweep; pass --resume to continue "
                                      "it or choose another --out")
            if man.get("spec_hash") != spec.spec_hash():
                raise InvalidArgument(f"--resume: {str(self.root)!r} holds a sweep of another spec (hash "
                                      f"{man.get('spec_hash')} != {spec.spec_hash()}); use another --out")
        elif self.parts_dir.is_dir() and any(self.parts_dir.glob("part-*.parquet")):
            raise InvalidArgument(f"--out {str(self.root)!r}: has result parts but no manifest.json; choose "
                                  "another --out")
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        self._parts = sorted(self.parts_dir.glob("part-*.parquet"))
        self._write_manifest()

    def parts(self) -> list[Path]:
        return list(self._parts)

    def _drop(self, part: Path, exc: BaseException) -> None:
        """Set a part that cannot be read aside in ``damaged/`` (kept for inspection, out of the data set)."""
        reason = f"{type(exc).__name__}: {exc}"
        self.damaged_dir.mkdir(exist_ok=True)
        os.replace(part, self.damaged_dir / part.name)
        self._parts.remove(part)
        self.dropped.append((str(part), reason))
        warnings.warn(SweepStoreWarning(f"sweep part {str(part)!r} is unreadable ({reason}); moved to "
                                        f"{str(self.damaged_dir)!r}, its points will be computed again"),
                      stacklevel=3)
        self._write_manifest()

    def _read(self, part: Path, columns: Sequence[str] | None = None) -> Any:
        """One part as a pyarrow Table, or None when it is unreadable or not a part of this store (set aside)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            t = pq.read_table(part, columns=list(columns) if columns else None)
            if columns is None and not t.schema.equals(schema(self.spec)):
                raise ValueError(f"columns {t.schema.names} differ from the store's")
            return t
        except (pa.ArrowException, OSError, ValueError) as exc:
            self._drop(part, exc)
            return None

    def done_ids(self) -> set[int]:
        done: set[int] = set()
        for p in self.parts():
            t = self._read(p, ["point_id"])
            if t is not None:
                done.update(int(x) for x in t.column("point_id").to_pylist())
        return done

    def append(self, rows: Sequence[Mapping[str, Any]]) -> Path | None:
        if not rows:
            return None
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([{k: r[k] for k in columns(self.spec)} for r in rows], schema=schema(self.spec))
        name = f"part-{uuid.uuid4().hex[:12]}.parquet"
        tmp = self.parts_dir / f".{name}.tmp"
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:  # the part is on disk before it becomes visible under its final name
            os.fsync(fh.fileno())
        os.replace(tmp, self.parts_dir / name)
        self._parts.append(self.parts_dir / name)
        self._write_manifest()
        return self.parts_dir / name

    def read(self) -> Any:
        """All finished rows as one ``pyarrow.Table`` sorted by point id (duplicates, which only a manual copy
        of parts could create, are dropped; unreadable parts are set aside)."""
        import pyarrow as pa

        tables = [t for t in (self._read(p) for p in self.parts()) if t is not None]
        if not tables:
            return schema(self.spec).empty_table()
        t = pa.concat_tables(tables).sort_by("point_id")
        ids = t.column("point_id").to_pylist()
        keep = [i for i, x in enumerate(ids) if i == 0 or x != ids[i - 1]]
        return t.take(keep)

    def _write_manifest(self) -> None:
        man = {"format": STORE_FORMAT, "spec_hash": self.spec.spec_hash(), "spec": self.spec.canonical(),
               "total_points": n_points(self.spec), "columns": list(columns(self.spec)),
               "parts": [f"points/{p.name}" for p in sorted(self._parts)]}
        tmp = self.root / ".manifest.json.tmp"
        tmp.write_text(json.dumps(man, indent=1, sort_keys=True))
        os.replace(tmp, self.manifest_path)
