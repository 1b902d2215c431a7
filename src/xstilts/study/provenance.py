"""Study-level facts for the report: which plan, which model (content hash), which data files
(content hashes), which machine. Reads the plan, the model folder and the node folders."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from xstilts.hardware import describe_machine
from xstilts.study.data_facts import DataInspector
from xstilts.study.plan import Plan
from xstilts.tasks.selection import DataSelection

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".json", ".model")


def model_facts(model: str) -> tuple[str, str]:
    """(description, content hash) of the base model: a prepared offline model's build record, a
    local folder's files hashed, a hub id unhashed."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        cache = Path(os.environ.get("XSTILTS_CACHE", Path.home() / ".cache" / "xstilts")) / "models" / model
        folder = cache if cache.is_dir() else folder
    if not folder.is_dir():
        return model, "n/a (not a local folder)"
    record = folder / "xstilts-build.json"
    if record.is_file():
        build = json.loads(record.read_text())
        return f"{build.get('model', model)} at {folder}", f"source sha256 {build.get('source_sha256')}"
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in _WEIGHT_SUFFIXES:
            digest.update(path.name.encode() + b"\0")
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return f"{model} at {folder}", f"sha256 {digest.hexdigest()}"


def data_files(plan: Plan) -> dict[str, str]:
    """Content hash of every data selection the plan trains, selects or evaluates on."""
    hashes: dict[str, str] = {}
    for node in plan.train_nodes:
        for task in node.identity["tasks"]:
            for role in ("train", "dev"):
                selection = task.get(role)
                if selection:
                    hashes[f"{selection['task']} {selection['lang']} {selection['split']}"] = selection["data"]
    inspector = DataInspector(plan.data_dir)
    for node in plan.eval_nodes:
        for lang in node.langs:
            facts = inspector.facts(DataSelection(node.task, lang, node.split))
            hashes[f"{node.task} {lang} {node.split}"] = facts.sha256
    return dict(sorted(hashes.items()))


def environments(study_dir: Path) -> list[str]:
    """What the trainings recorded about where they ran: result.json ``numerics`` (device,
    precision as trained, torch threads, processes, library versions), one line per distinct record."""
    found: set[str] = set()
    for result in sorted((study_dir / "nodes").glob("*/result.json")) if (study_dir / "nodes").is_dir() else []:
        payload = json.loads(result.read_text())
        environment = payload.get("numerics")
        if environment:
            found.add(json.dumps(environment, sort_keys=True))
    return sorted(found)


def study_facts(plan: Plan, study_file: str | Path) -> dict[str, Any]:
    model, model_hash = model_facts(plan.study.model)
    precisions = sorted({node.config.mixed_precision for node in plan.train_nodes})
    return {
        "study": plan.study.name, "study_file": str(study_file), "plan_hash": plan.plan_hash(),
        "model": model, "model_hash": model_hash, "data_files": data_files(plan),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{describe_machine()}; training precision setting {', '.join(precisions) or '-'}",
        "environments": environments(plan.study.output_dir),
    }
