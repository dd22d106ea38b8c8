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


# ------------------------------------------------------------------------------------------------ new tables


def test_functions_abbreviations_maxwell_expect_tables():
    spec = loads_metric('coordinates = ["t", "x"]\n[parameters]\nk = "real"\n[functions]\na = ["t"]\n'
                        '[abbreviations]\nS = "a(t)**2"\n[metric]\nt_t = "-1"\nx_x = "S*x**k"\n[maxwell]\n'
                        't = "diff(a, t)"\n[expect]\ncheck = "einstein"\nholds = false\n', "f.toml")
    a = sp.Function("a")(sp.Symbol("t", real=True))
    x, k = sp.Symbol("x", real=True), sp.Symbol("k", real=True)
    assert spec.metric.g[1, 1] == a**2 * x**k and spec.functions == (a,)
    assert dict(spec.abbreviations)["S"] == a**2 and spec.potential[0] == sp.diff(a, a.args[0])
    assert spec.expect.check == "einstein" and spec.expect.holds is False


@pytest.mark.parametrize("text,match", [
    ('[functions]\nf = "t"\n[metric]\nt_t = "-1"\nx_x = "1"\n', "list of distinct coordinates"),
    ('[functions]\nf = ["y"]\n[metric]\nt_t = "-1"\nx_x = "1"\n', "list of distinct coordinates"),
    ('[functions]\nf = ["t"]\n[metric]\nt_t = "-1"\nx_x = "f(x)"\n', r"takes its declared arguments \(t\)"),
    ('[functions]\nsin = ["t"]\n[metric]\nt_t = "-1"\nx_x = "1"\n', "function name 'sin' is not allowed"),
    ('[metric]\nt_t = "-1"\nx_x = "besselj(t, x)"\n', "not a coordinate"),
    ('[metric]\nt_t = "-1"\nx_x = "diff(x, 7)"\n', "not a coordinate or a derivative order"),
    ('[expect]\ncheck = "vacuum"\n[metric]\nt_t = "-1"\nx_x = "1"\n', "expected one of"),
    ('[expect]\nnonzero = ["t_y"]\n[metric]\nt_t = "-1"\nx_x = "1"\n', "is not 'a_b'"),
    ('[maxwell]\ny = "1"\n[metric]\nt_t = "-1"\nx_x = "1"\n', "not a coordinate"),
    ('[abbreviations]\nt = "1"\n[metric]\nt_t = "-1"\nx_x = "1"\n', "abbreviation name 't'"),
])
def test_bad_new_tables(text, match):
    with pytest.raises(InvalidArgument, match=match):
        loads_metric('coordinates = ["t", "x"]\n' + text, "bad.toml")


def test_symbolic_exponents_in_metric_files_but_not_in_potentials():
    from nnqg.derivations import parse_formula

    spec = loads_metric('coordinates = ["t", "r"]\n[parameters]\nk = "positive"\n[metric]\nt_t = "-r**k"\n'
                        'r_r = "(1 - 2/r)**(-k)"\n', "f.toml")
    assert spec.metric.g[0, 0].has(sp.Symbol("k", positive=True))
    q = sp.Symbol("q", real=True)
    with pytest.raises(InvalidArgument, match="exponents must be numbers"):
        parse_formula("q**q", {"q": q}, what="--potential")


# ------------------------------------------------------------------------------------- issue 15, items 7, 8, 10


@pytest.mark.parametrize("text,match", [
    ('[parameters]\nM = ["positive"]\n[metric]\nt_t = "-M"\nx_x = "1"\n', r"as a string .*got \['positive'\]"),
    ('[parameters.M]\nkind = "positive"\n[metric]\nt_t = "-M"\nx_x = "1"\n', "as a string"),
    ('[metric]\nt_t = -1\nx_x = ' + "7" * 4400 + "\n", "not valid TOML"),
])
def test_malformed_parameters_and_huge_integers_are_refused(text, match):
    with pytest.raises(InvalidArgument, match=match):
        loads_metric('coordinates = ["t", "x"]\n' + text, "bad.toml")


@pytest.mark.parametrize("coord", ["θ", "х"])   # Greek theta, Cyrillic ha
def test_non_ascii_coordinates_are_refused(coord):
    with pytest.raises(InvalidArgument, match="plain ASCII identifier"):
        loads_metric(f'coordinates = ["t", "{coord}"]\n[metric]\nt_t = "-1"\n"{coord}_{coord}" = "1"\n', "u.toml")


def test_size_limits_refuse_before_work():
    import time

    t0 = time.perf_counter()
    names = [f"x{i}" for i in range(40)]
    big = "coordinates = [" + ", ".join(f'"{c}"' for c in names) + "]\n[metric]\n" + \
        "".join(f'{c}_{c} = "1"\n' for c in names)
    with pytest.raises(InvalidArgument, match="the limit is 8"):
        loads_metric(big, "d40.toml")
    params = "".join(f'p{i} = "positive"\n' for i in range(50_000))
    with pytest.raises(InvalidArgument, match="the limit is 32"):
        loads_metric('coordinates = ["t", "x"]\n[parameters]\n' + params + '[metric]\nt_t = "-1"\nx_x = "1"\n',
                     "p.toml")
    assert time.perf_counter() - t0 < 30   # a refusal, not a 4.9 GB computation (generous bound, loaded machines)


def test_provably_complex_metric_is_refused():
    with pytest.raises(InvalidArgument, match="is not real"):
        loads_metric('coordinates = ["t", "x"]\n[parameters]\nM = "positive"\n[metric]\nt_t = "-1"\n'
                     'x_x = "sqrt(-M)"\n', "c.toml")


def test_metric_complex_at_its_sample_points_is_refused(tmp_path, capsys):
    from nnqg.verify._cli import main

    f = tmp_path / "c.toml"
    f.write_text('coordinates = ["t", "x"]\n[metric]\nt_t = "-1"\nx_x = "sqrt(-7 - x**2 - exp(x))"\n')
    assert main(["curvature", str(f)]) == 2
    assert "must be real on its domain" in capsys.readouterr().err


def test_control_characters_in_the_name_do_not_reach_the_terminal(tmp_path, capsys):
    from nnqg.verify._cli import main

    f = tmp_path / "ansi.toml"
    f.write_text('name = "\\u001b[2J\\u001b[32mALL CLAIMS PASSED\\u001b[0m"\ncoordinates = ["t", "x"]\n'
                 '[metric]\nt_t = "-1"\nx_x = "1"\n')
    assert main(["curvature", str(f)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[32mALL CLAIMS PASSED" in out


def test_time_limit_ends_in_exit_2(tmp_path, capsys):
    from nnqg.verify._cli import main

    coords = ["t", "x", "y", "z"]
    lines = ['coordinates = ["t", "x", "y", "z"]', "[metric]"]
    for i, a in enumerate(coords):
        for j, b in enumerate(coords[i:], start=i):
            lines.append(f'{a}_{b} = "{"-" if i == 0 and j == 0 else ""}(2 + exp({a})*sin({coords[(i + 1) % 4]}))"'
                         if i == j else f'{a}_{b} = "exp({a}*{b})/10 + sin({a} + {b})/7"')
    f = tmp_path / "dense.toml"
    f.write_text("\n".join(lines) + "\n")
    assert main(["curvature", str(f), "--time-limit", "1"]) == 2
    assert "did not finish within 1 s (--time-limit)" in capsys.readouterr().err
