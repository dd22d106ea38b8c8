"""Hostile sweep specs and damaged stores (issue 15, items 5 and 10): each is refused up front with a message naming
the input (exit 2) or handled, never a traceback, a hang or a write outside the output directory. Every test here
failed on the code before these checks (commit 47836bc): there the spec validated and the run failed later (an
OverflowError at the Parquet write, a MemoryError, a million submissions before the first stored row, a worker per
requested CPU, a tomllib ValueError, a write outside the directory, an ArrowInvalid traceback)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nnqg.derivations import InvalidArgument
from nnqg.verify import _sweep as S
from nnqg.verify._cli import main

pytest.importorskip("dask.distributed")
pytest.importorskip("pyarrow")

SPEC = """
[sweep]
seed = 3
claims = ["fokker_planck"]
[task]
kind = "linear_regression"
n_data = 64
[run]
n_steps = 24
anchors = [8, 16]
[grid]
gamma = [0.05, 0.2]
batch_size = [1, 4]
ensemble = [20]
"""


def _base() -> dict:
    return {"sweep": {"seed": 3, "claims": ["fokker_planck"]}, "task": {"kind": "linear_regression", "n_data": 64},
            "run": {"n_steps": 24, "anchors": [8, 16]},
            "grid": {"gamma": [0.05, 0.2], "batch_size": [1, 4], "ensemble": [20]}}


def _with(**over: dict) -> dict:
    d = _base()
    for sec, kv in over.items():
        d.setdefault(sec, {}).update(kv)
    return d


def _cli(tmp_path: Path, capsys: pytest.CaptureFixture, body: str, *extra: str) -> tuple[int, str]:
    p = tmp_path / "spec.toml"
    p.write_text(textwrap.dedent(body))
    rc = main(["sweep", str(p), *extra])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return rc, err


@pytest.mark.parametrize("over, key", [
    ({"grid": {"seeds": [2 ** 63]}}, "grid.seeds"),  # beyond int64: failed at the Parquet write after every point
    ({"grid": {"seeds": [-1]}}, "grid.seeds"),
    ({"sweep": {"seed": 2 ** 63}}, "sweep.seed"),
    ({"sweep": {"seed": 10 ** 4000}}, "sweep.seed"),  # 4,000 digits: refused, and not printed back
    ({"task": {"n_data": 10 ** 12}}, "task.n_data"),  # escaped the memory guard
    ({"task": {"n_data": 10 ** 8}}, "task.n_data"),  # 4.8 GB of data for a point
    ({"sweep": {"name": "x/../../escape"}}, "sweep.name"),  # wrote outside the output directory
    ({"sweep": {"name": "a\x1b[31mb"}}, "sweep.name"),
    ({"measure": {"bootstrap": 10 ** 9}}, "measure.bootstrap"),
])
def test_out_of_range_values_are_refused_up_front(over: dict, key: str) -> None:
    with pytest.raises(InvalidArgument, match=key.replace(".", r"\.")) as exc:
        S.parse_spec(_with(**over))
    assert len(str(exc.value)) < 400


def test_a_billion_point_grid_is_refused_before_any_work() -> None:
    """1000 x 1000 x 1000 points from a 20 KB spec: on the old code parse_spec accepted it and building the grid
    reached 5.5 GB and a MemoryError; the limit is stated (MAX_POINTS) and checked from the axis lengths."""
    spec = _with(grid={"gamma": [0.001 * (i + 1) for i in range(1000)], "batch_size": list(range(1, 1001)),
                       "ensemble": [20], "seeds": list(range(1000))}, task={"n_data": 1000})
    with pytest.raises(InvalidArgument, match=r"grid: 1,000,000,000 points; the limit is 1,000,000"):
        S.parse_spec(spec)


def test_cli_refuses_a_billion_point_grid(tmp_path: Path, capsys) -> None:
    big = SPEC.replace("gamma = [0.05, 0.2]", "gamma = [" + ", ".join(f"{0.001 * (i + 1):.3f}" for i in range(1000))
                       + "]").replace("batch_size = [1, 4]", "batch_size = [" + ", ".join(map(str, range(1, 1001)))
                                      + "]").replace("n_data = 64", "n_data = 1000") \
        + "seeds = [" + ", ".join(map(str, range(1000))) + "]\n"
    rc, err = _cli(tmp_path, capsys, big, "--out", str(tmp_path / "o"))
    assert rc == 2 and "grid: 1,000,000,000 points" in err
    assert not (tmp_path / "o").exists()


def test_cli_refuses_a_5000_digit_seed(tmp_path: Path, capsys) -> None:
    rc, err = _cli(tmp_path, capsys, SPEC.replace("seed = 3", "seed = " + "9" * 5000), "--out", str(tmp_path / "o"))
    assert rc == 2 and "SPEC" in err and "not valid TOML" in err  # tomllib's ValueError, once a traceback


def test_a_seed_beyond_int64_does_not_reach_the_store(tmp_path: Path, capsys) -> None:
    rc, err = _cli(tmp_path, capsys, SPEC + "seeds = [9223372036854775808]\n", "--out", str(tmp_path / "o"))
    assert rc == 2 and "grid.seeds" in err
    assert not (tmp_path / "o").exists()


def test_a_name_with_a_path_writes_nothing_outside_the_output_directory(tmp_path: Path, capsys, monkeypatch) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    rc, err = _cli(tmp_path, capsys, SPEC.replace('seed = 3', 'seed = 3\nname = "x/../../escape"'))
    assert rc == 2 and "sweep.name" in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "spec.toml"]


def test_workers_beyond_the_machine_are_refused_and_never_more_workers_than_points(
        tmp_path: Path, capsys, monkeypatch) -> None:
    """The old code started one worker per requested CPU (`--workers 100000` spawned until killed; 16 workers took
    3.2 GB for a 1-point grid). A fake cluster records what would be started."""
    asked: list[int] = []

    class NoCluster(Exception):
        pass

    def fake(workers: int, processes: bool = True):
        asked.append(workers)
        raise NoCluster

    monkeypatch.setattr(S, "local_cluster", fake)
    rc, err = _cli(tmp_path, capsys, SPEC, "--workers", "100000", "--out", str(tmp_path / "o"))
    assert rc == 2 and "--workers 100000" in err and asked == []
    one = S.parse_spec(_with(grid={"gamma": [0.1], "batch_size": [1]}))
    with pytest.raises(NoCluster):
        S.run_sweep(one, tmp_path / "one", workers=min(2, S.available_cpus()))
    assert asked == [1]


def test_a_million_point_grid_streams_and_stores_at_once(tmp_path: Path, monkeypatch) -> None:
    """10^6 points (the stated limit): the old code built every point and submitted a million tasks before the
    first row was stored (150 s). Now at most a few tasks per worker are in flight, so a sweep interrupted after
    its first points has them on disk."""
    from dask.distributed import Client

    spec = S.parse_spec(_with(grid={"gamma": [0.01 * (i + 1) for i in range(100)],
                                    "batch_size": list(range(1, 11)), "ensemble": [20],
                                    "seeds": list(range(1000))}, task={"n_data": 64}))
    assert len(spec.gamma) * len(spec.batch_size) * len(spec.seeds) == 1_000_000
    real = Client.submit
    calls = [0]

    def counting(self, *a, **k):
        calls[0] += 1
        if calls[0] > 1000:
            raise AssertionError("more than 1000 tasks submitted: the grid is not streamed")
        return real(self, *a, **k)

    monkeypatch.setattr(Client, "submit", counting)

    def stop(done: int, total: int) -> None:
        if done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        S.run_sweep(spec, tmp_path / "big", workers=1, processes=False, progress=stop)
    assert calls[0] <= 3 + 8  # the default window of one worker: 8 tasks
    assert len(S.ResultStore(tmp_path / "big", spec, resume=True).done_ids()) >= 3


def test_a_truncated_part_is_set_aside_and_its_points_recomputed(tmp_path: Path, capsys) -> None:
    """A part cut short (a full disk, a copy interrupted): the old code died on --resume with an ArrowInvalid
    traceback. Now the part moves to damaged/ with a warning and --resume computes its points again, to the
    same numbers."""
    import pyarrow.parquet as pq

    p = tmp_path / "spec.toml"
    p.write_text(textwrap.dedent(SPEC))
    out = tmp_path / "o"
    assert main(["sweep", str(p), "--workers", "1", "--out", str(out)]) == 0
    full = pq.read_table(out / "points").sort_by("point_id").drop_columns(["seconds"])
    parts = sorted((out / "points").glob("part-*.parquet"))
    victim = parts[0]
    lost = set(pq.read_table(victim, columns=["point_id"]).column("point_id").to_pylist())
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    capsys.readouterr()
    assert main(["sweep", str(p), "--workers", "1", "--out", str(out), "--resume"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "unreadable" in captured.err and victim.name in captured.err
    assert f"{len(lost)} points computed" in captured.out
    assert (out / "damaged" / victim.name).exists() and not victim.exists()
    again = pq.read_table(out / "points").sort_by("point_id").drop_columns(["seconds"])
    assert repr(again.to_pydict()) == repr(full.to_pydict())  # repr: NaN columns (no Madelung asked) compare


def test_a_grid_beyond_the_figure_limits_gets_no_heat_maps(tmp_path: Path) -> None:
    """A heat map of thousands of cells is unreadable and its image size unbounded: beyond 40 gamma or B values no
    figure is drawn, and the reason is given."""
    from nnqg.verify._sweep_store import schema

    spec = S.parse_spec(_with(grid={"gamma": [0.001 * (i + 1) for i in range(41)]}))
    assert S.write_figures(spec, schema().empty_table(), tmp_path / "f") == []
    assert "41 gamma" in S.skipped_figures(spec)
    assert S.skipped_figures(S.parse_spec(_base())) is None
