"""`xstilts stats contrast FILE --sequential 3,5,8`: the design's decision for seeds made elsewhere,
so that a lab can run the design by hand (train a look's seeds, ask, go on)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xstilts.cli import main
from xstilts.results.sequential import Design, analyse_sequence, boundaries


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(["stats", "contrast", *args])
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code or 0
    out, err = capsys.readouterr()
    return code, out, err


# Per seed: "big" is 20 points above "base" with little seed noise; "same" moves with "base".
SCORES = {
    "base": [70.1, 69.5, 70.8, 70.2, 69.9],
    "big": [90.2, 89.6, 90.7, 90.4, 89.8],
    "same": [70.6, 69.0, 70.2, 70.9, 69.6],
}


def _file(tmp_path: Path, seeds: int) -> Path:
    lines = ["condition,seed,score"] + [f"{name},{seed},{values[seed - 1]}" for name, values in SCORES.items()
                                         for seed in range(1, seeds + 1)]
    path = tmp_path / "scores.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_decision_for_each_contrast_of_seeds_made_elsewhere(tmp_path, capsys):
    args = [str(_file(tmp_path, 3)), "--contrast", "big - base", "--contrast", "same - base", "--sequential", "3,5,8"]
    code, out, err = _run([*args, "--json"], capsys)
    assert code == 0, err
    records = {r["contrast"]: r for r in map(json.loads, out.splitlines())}
    big, same = records["big - base"], records["same - base"]
    assert big["decision"] == "effect" and big["sequential"]["seeds"] == 3 and big["family_size"] == 2
    assert big["adjusted_p"] <= 0.05 and big["ci_low"] > 0 and big["significant"]
    assert same["decision"] in ("no effect", "continue")
    bounds = boundaries(Design((3, 5, 8), 2))
    differences = {seed: SCORES["same"][seed - 1] - SCORES["base"][seed - 1] for seed in (1, 2, 3)}
    assert same["decision"] == analyse_sequence(differences, [1, 2, 3], bounds).decision
    assert big["sequential"]["efficacy_bound"] == pytest.approx(bounds.efficacy[0])
    code, out, _ = _run(args, capsys)
    assert code == 0 and "decided after 3 of at most 8 seeds" in out and "group-sequential design" in out
    assert "sequential design (looks after 3, 5, 8 seeds" in out


def test_a_contrast_between_the_boundaries_continues_to_the_next_look(tmp_path, capsys):
    path = tmp_path / "scores.csv"
    path.write_text("condition,seed,score\n" + "".join(
        f"a,{s},{v}\nb,{s},{w}\n" for s, v, w in [(1, 71.0, 70.0), (2, 70.0, 70.3), (3, 72.0, 70.1), (4, 70.9, 70.0)]))
    code, out, err = _run([str(path), "--sequential", "3,5,8", "--json"], capsys)
    assert code == 0, err
    (record,) = map(json.loads, out.splitlines())
    assert record["decision"] == "continue" and record["sequential"]["next_look_seeds"] == 5
    assert record["seeds"] == 3 and record["adjusted_p"] is None


def test_wrong_looks_are_one_line(tmp_path, capsys):
    path = _file(tmp_path, 3)
    code, _, err = _run([str(path), "--sequential", "5,3"], capsys)
    assert code != 0 and "--sequential: looks '5,3': increasing seed counts" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run([str(path), "--sequential", "3,5", "--unpaired"], capsys)
    assert code != 0 and "not with --unpaired" in err
