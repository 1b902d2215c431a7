"""Every bad input gets a non-zero exit and ONE line on stderr naming the file:line or the field:
no traceback, no partial output. The cases are a table (cases.py); the CLI runs in-process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from cases import CASES, Case  # noqa: E402

from xstilts.cli import main  # noqa: E402


def _fill(text: str, tmp: Path, data: Path | None, model: Path | None) -> str:
    return text.replace("{tmp}", str(tmp)).replace("{data}", str(data)).replace("{tiny}", str(model))


@pytest.fixture
def needs(request):
    """The shared data and the tiny model, only for the cases that need them."""
    def get(case: Case) -> tuple[Path | None, Path | None]:
        data = request.getfixturevalue("shared_data") if "data" in case.needs else None
        model = request.getfixturevalue("tiny_model_dir") if "model" in case.needs else None
        return data, model

    return get


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gets_one_clear_line(case: Case, tmp_path: Path, needs, capsys, monkeypatch):
    data, model = needs(case)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content = content(data)
        if isinstance(content, str):
            path.write_text(_fill(content, tmp_path, data, model), encoding="utf-8")
        else:
            path.write_bytes(content)
    if case.setup is not None:
        case.setup(tmp_path, data, model)
    argv = [_fill(arg, tmp_path, data, model) for arg in case.argv]
    capsys.readouterr()

    with pytest.raises(SystemExit) as exit_info:
        main(argv)

    out, err = capsys.readouterr()
    assert exit_info.value.code not in (0, None)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert _fill(case.expect, tmp_path, data, model) in lines[0], lines[0]
    assert out == "", out  # no partial output
    for leftover in case.absent:
        assert not (tmp_path / leftover).exists(), f"{leftover} left behind"
