"""CI's fault soak: a handful of SIGKILLs of a tiny study on the local executor, each followed by
a re-run; the final store and node metrics must equal an uninterrupted run's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "kill_soak.py"


@pytest.mark.slow
@pytest.mark.ci
def test_kill_soak_local_survives_every_kill(shared_data, xlmr_tokenizer_file, tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--kills", "3", "--executor", "local", "--seed", "7",
                           "--data", str(shared_data), "--workdir", str(tmp_path), "--quiet"],
                          capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert last == "kills survived: 3/3, rows lost: 0, rows duplicated: 0, metrics identical: yes", done.stdout + done.stderr
    assert done.returncode == 0


@pytest.mark.slow
def test_kill_soak_of_workers_costs_one_node_per_kill(shared_data, xlmr_tokenizer_file, tmp_path):
    """SIGKILL of one local worker (not the study): each run ends by itself with at most that node
    failed (named by the signal), and the re-run ends as an uninterrupted run."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--kills", "2", "--executor", "local", "--kill-workers",
                           "--seed", "3", "--data", str(shared_data), "--workdir", str(tmp_path)],
                          capture_output=True, text=True, timeout=1200, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = done.stdout.strip().splitlines()
    assert lines and lines[-1] == "kills survived: 2/2, rows lost: 0, rows duplicated: 0, metrics identical: yes", \
        done.stdout + done.stderr
    assert sum("killed worker" in line and "the run ended well" in line for line in lines) == 2
    assert done.returncode == 0
