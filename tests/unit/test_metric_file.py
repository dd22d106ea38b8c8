"""The TOML metric loader: every bad input is an InvalidArgument naming the file and key."""

from __future__ import annotations

import pytest
import sympy as sp

from nnqg.derivations import InvalidArgument
from nnqg.derivations._metric_file import load_metric, loads_metric

GOOD = '''
name = "test"
coordinates = ["t", "r", "theta", "phi"]
[parameters]
M = "positive"
Lambda = "positive"
[metric]
t_t = "-(1 - 2*M/r)"
r_r = "1/(1 - 2*M/r)"
theta_theta = "r**2"
phi_phi = "r**2*sin(theta)**2"
'''


def test_good_file_parses():
    spec = loads_metric(GOOD, "good.toml")
    m = spec.metric
    assert [c.name for c in m.coords] == ["t", "r", "theta", "phi"]
    M = sp.Symbol("M", positive=True)
    assert m.g[0, 0] == -(1 - 2 * M / sp.Symbol("r", real=True))
    assert spec.Lambda == sp.Symbol("Lambda", positive=True) and spec.stress_energy is None


def test_off_diagonal_entry_is_symmetric_and_lambda_key():
    spec = loads_metric('coordinates = ["t", "x"]\nlambda = "3*H**2"\n[parameters]\nH = "positive"\n'
                        '[metric]\nt_t = "-1"\nt_x = "x/2"\nx_x = "1"\n', "f.toml")
    assert spec.metric.g[0, 1] == spec.metric.g[1, 0] == sp.Symbol("x", real=True) / 2
    assert spec.Lambda == 3 * sp.Symbol("H", positive=True) ** 2


@pytest.mark.parametrize("text,match", [
    ('coordinates = ["t", "x"]\n[metric]\nt_t = "-1"\nx_x = "k"\n', "the name 'k' is not allowed"),
    ('coordinates = ["t", "x"]\n[metric]\nt_t = "-1"\nt_x = "1"\nx_x = "-1"\n', "degenerate"),
    ('coordinates = ["t", "x"]\n[metric]\nt_t = "-1"\nt_x = "1"\nx_t = "2"\nx_x = "1"\n', "twice"),
    ('coordinates = ["t", "x"]\n[metric]\nt_t = "-1"\ny_y = "1"\n', "'y_y' is not 'a_b'"),
    ('coordinates = ["t"]\n[metric]\nt_t = "-1"\n', "at least 2"),
    ('coordinates = ["t", "t"]\n[metric]\nt_t = "-1"\n', "repeated"),
    ('coordinates = ["t", "x"]\n', r"\[metric\] is missing"),
    ('coordinates = ["t", "x"]\n[parameters]\nM = "big"\n[metric]\nt_t = "-1"\nx_x = "1"\n', "got 'big'"),
    ('coordinates = ["t", "x"]\n[metric]\nt_t = "__import__(1)"\nx_x = "1"\n', "t_t"),
    ('coordinates = ["t", "x"]\nfoo = 1\n[metric]\nt_t = "-1"\nx_x = "1"\n', "unknown keys"),
    ('coordinates = ["t", "sin"]\n[metric]\nt_t = "-1"\n', "not allowed"),
    ('coordinates = [t]\n', "not valid TOML"),
])
def test_bad_inputs(text, match):
    with pytest.raises(InvalidArgument, match=match):
        loads_metric(text, "bad.toml")


def test_missing_file():
    with pytest.raises(InvalidArgument, match="no such file"):
        load_metric("/nonexistent/metric.toml")
