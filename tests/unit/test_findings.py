"""The README's Findings are the rendering of the committed report, and the report is current."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from nnqg.verify._cli import main
from nnqg.verify._cmd_findings import stale_claims
from nnqg.verify._findings import BEGIN, END, findings_markdown, readme_block, replace_block
from nnqg.verify._paper import load_report

ROOT = Path(__file__).resolve().parents[2]
REPORT = "docs/report-seed1.json"


@pytest.fixture(scope="module")
def report() -> dict:
    return load_report(ROOT / REPORT)


def test_readme_findings_are_the_committed_reports(report):
    block = readme_block((ROOT / "README.md").read_text(encoding="utf-8"))
    assert block is not None, "README.md has no Findings block"
    assert block == findings_markdown(report, source=REPORT), (
        f"README's Findings differ from {REPORT}: run `nnqg findings {REPORT} --readme README.md`")


def test_committed_report_is_current(report):
    stale = stale_claims(report)
    assert not stale, (f"{REPORT} predates changes to {stale}: run `nnqg verify --seed 1 --json {REPORT} && "
                       f"nnqg findings {REPORT} --readme README.md`")


def test_every_learning_verdict_of_the_report_is_in_the_block(report):
    block = findings_markdown(report, source=REPORT)
    for c in report["claims"]:
        st = c["learning"]["status"]
        if st != "NOT TESTED":
            item = next(line for line in block.splitlines() if line.startswith(f"* `{c['id']}`: "))
            assert item.split(": ", 1)[1].strip("*").startswith(st)


def test_a_changed_verdict_changes_the_block_and_not_supported_comes_first(report):
    """The test above can fail: flipping one experiment's verdict or distance changes the rendering."""
    rep = copy.deepcopy(report)
    tested = [c for c in rep["claims"] if c["learning"]["status"] != "NOT TESTED"]
    assert tested, "the committed report has no learning experiment"
    c = tested[-1]
    c["learning"]["status"] = "NOT SUPPORTED"
    c["learning"]["measured"][0]["distance"] = 123.0
    block = findings_markdown(rep, source=REPORT)
    assert block != findings_markdown(report, source=REPORT)
    rows = [line for line in block.splitlines() if line.startswith("* `")]
    statuses = [r.split(": ", 1)[1].split(". ", 1)[0] for r in rows]
    first_other = next((i for i, s in enumerate(statuses) if s != "**NOT SUPPORTED**"), len(statuses))
    assert all(s != "**NOT SUPPORTED**" for s in statuses[first_other:])
    assert "123 +- " in block


def test_cli_writes_the_block_and_refuses_without_markers(tmp_path, report, capsys):
    r = tmp_path / "r.json"
    r.write_text(json.dumps(report), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{BEGIN}\nold\n{END}\n\ntail\n", encoding="utf-8")
    assert main(["findings", str(r), "--readme", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert readme_block(text) == findings_markdown(report, source=r.as_posix()) and text.endswith("\n\ntail\n")
    readme.write_text("# no markers\n", encoding="utf-8")
    assert main(["findings", str(r), "--readme", str(readme)]) == 2
    assert "no Findings block" in capsys.readouterr().err
    with pytest.raises(ValueError):
        replace_block(f"{END}\n{BEGIN}\n", "x", where="t")


def test_cli_refuses_to_write_from_a_stale_report(tmp_path, report, capsys):
    rep = copy.deepcopy(report)
    rep["claims"][0]["source_hash"] = "0" * 64
    r = tmp_path / "r.json"
    r.write_text(json.dumps(rep), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(f"{BEGIN}\nold\n{END}\n", encoding="utf-8")
    assert main(["findings", str(r), "--readme", str(readme)]) == 1
    assert readme.read_text(encoding="utf-8") == f"{BEGIN}\nold\n{END}\n"
    assert "changed since the report was written" in capsys.readouterr().err
    assert main(["findings", str(tmp_path / "missing.json")]) == 2


@pytest.mark.parametrize("run, why", [
    ({"claims": "*", "calibration": True, "learning": False, "potential": None, "param": [], "metric": []},
     "learning experiments did not run"),
    ({"claims": "madelung.*", "calibration": True, "learning": True, "potential": None, "param": [], "metric": []},
     "covers only --claims"),
    ({"claims": "*", "calibration": True, "learning": True, "potential": "q**4", "param": [], "metric": []},
     "the user's inputs (--potential)"),
    (None, "does not say how it was made")])
def test_cli_refuses_a_partial_run_as_the_readmes_findings(tmp_path, report, capsys, run, why):
    rep = copy.deepcopy(report)
    if run is None:
        rep.pop("run", None)
    else:
        rep["run"] = run
    r = tmp_path / "r.json"
    r.write_text(json.dumps(rep), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(f"{BEGIN}\nold\n{END}\n", encoding="utf-8")
    assert main(["findings", str(r), "--readme", str(readme)]) == 2
    assert why in capsys.readouterr().err
    assert readme.read_text(encoding="utf-8") == f"{BEGIN}\nold\n{END}\n"


def test_malformed_learning_entry_and_missing_claim(tmp_path, report, capsys):
    rep = copy.deepcopy(report)
    rep["claims"][0]["learning"] = "oops"
    r = tmp_path / "r.json"
    r.write_text(json.dumps(rep), encoding="utf-8")
    assert main(["findings", str(r)]) == 2
    err = capsys.readouterr().err
    assert "REPORT" in err and "'learning' entry" in err and "Traceback" not in err
    rep = copy.deepcopy(report)
    gone = rep["claims"].pop()["id"]
    assert gone in stale_claims(rep)


def test_every_calibration_in_the_report_states_its_system_rule_and_power(report):
    """A calibration that ran says what it ran on, by which rule it was judged and what it can detect."""
    for c in report["claims"]:
        cal = c["calibration"]
        if cal["status"] != "NOT RUN":
            assert cal.get("system") and cal.get("rule") and cal.get("power"), c["id"]
