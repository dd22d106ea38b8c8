"""Input files are read with bounded work: devices, FIFOs, directories and oversized files are refused (exit 2)
with a message naming the file, never a hang or a MemoryError (hardening issue, item 2)."""

from __future__ import annotations

import os

import pytest

from nnqg.derivations import InvalidArgument
from nnqg.derivations._files import read_user_text
from nnqg.verify._cli import main


@pytest.fixture
def hostile(tmp_path):
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    (tmp_path / "urandom.toml").symlink_to("/dev/urandom")
    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "dir.toml").mkdir()
    (tmp_path / "big.toml").write_bytes(b"#" * 100)
    (tmp_path / "latin1.toml").write_bytes(b"name = '\xe9'")
    return tmp_path


@pytest.mark.parametrize("name, why", [("zero.toml", "not a regular file"), ("urandom.toml", "not a regular file"),
                                       ("fifo.toml", "not a regular file"), ("dir.toml", "is a directory"),
                                       ("missing.toml", "no such file"), ("latin1.toml", "not UTF-8")])
def test_refused_with_the_file_named(hostile, name, why):
    with pytest.raises(InvalidArgument, match=why) as exc:
        read_user_text(hostile / name, "metric file")
    assert name in str(exc.value) and str(exc.value).startswith("metric file")


def test_size_cap(hostile):
    assert read_user_text(hostile / "big.toml", "SPEC", max_bytes=100) == "#" * 100
    with pytest.raises(InvalidArgument, match="limit of 99 bytes|the limit is 99 bytes"):
        read_user_text(hostile / "big.toml", "SPEC", max_bytes=99)


@pytest.mark.parametrize("argv", [["curvature", "{f}"], ["sweep", "{f}"], ["paper", "--report", "{f}", "--out", "{o}"]])
@pytest.mark.parametrize("name", ["zero.toml", "fifo.toml"])
def test_cli_exit_2(hostile, capsys, argv, name):
    args = [a.format(f=hostile / name, o=hostile / "out") for a in argv]
    assert main(args) == 2
    assert name in capsys.readouterr().err
