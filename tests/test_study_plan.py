"""The run plan: shared prefixes trained once, content-hashed ids, counts, cost, contamination."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from xstilts.errors import ConfigError
from xstilts.study import build_plan, load_study, plan_summary, render_plan
from xstilts.study.cost import training_steps
from xstilts.study.hashing import MISSING

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LABELS = ("entailment", "neutral", "contradiction")

# Stages A (English) and B (German) on disjoint halves of a tiny parallel XNLI dev set;
# orders A>B, B>A, A, B and baseline; 2 seeds; NER (fine-tuned) and Tatoeba (retrieval).
STUDY = """\
name = "tiny"
model = "multilingual-e5-small"
data_dir = "data"
output_dir = "runs"
seeds = [1, 2]

[hparams]
max_steps = 5

[stages.A]
tasks = [{ task = "xnli", lang = "en", split = "dev", slice = "[:10]", dev_slice = "[10:15]" }]

[stages.B]
tasks = [{ task = "xnli", lang = "de", split = "dev", slice = "[:10]", dev_slice = "[10:15]" }]

[orders]
permutations = [["A", "B"]]
singles = true
baseline = true

[[targets]]
task = "panx"
langs = ["en", "de"]
eval_slice = "[:6]"
train = { slice = "[:20]", dev_slice = "[6:]" }

[[targets]]
task = "tatoeba"
langs = ["de"]

[execution]
model_bytes = 1000
"""


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))


def write_tiny_data(root: Path) -> None:
    (root / "xnli").mkdir(parents=True)
    for lang in ("en", "de", "fr"):
        rows = [f"premise {lang} {i}\thypothesis {lang} {i}\t{LABELS[i % 3]}" for i in range(20)]
        (root / "xnli" / f"dev-{lang}.tsv").write_text("\n".join(rows) + "\n")
    (root / "panx").mkdir()
    for name, count in (("train-en", 30), ("dev-en", 12), ("dev-de", 12)):
        sentences = [f"word{i}\tO\nName{i}\tB-PER\n" for i in range(count)]
        (root / "panx" / f"{name}.tsv").write_text("\n".join(sentences))
    (root / "tatoeba").mkdir()
    (root / "tatoeba" / "tatoeba.deu-eng.deu").write_text("".join(f"Satz {i}\n" for i in range(5)))
    (root / "tatoeba" / "tatoeba.deu-eng.eng").write_text("".join(f"Sentence {i}\n" for i in range(5)))


def plan_for(tmp_path: Path, text: str = STUDY, folder: str = "study"):
    directory = tmp_path / folder
    directory.mkdir(exist_ok=True)
    if not (directory / "data").exists():
        write_tiny_data(directory / "data")
    path = directory / "study.toml"
    path.write_text(text)
    return build_plan(load_study(path))


def node_by(plan, label: str, seed: int, parent_label: str | None = None):
    """The training with this label and seed whose parent has ``parent_label`` (None: the base model)."""
    found = [n for n in plan.train_nodes if n.label == label and n.seed == seed and not n.is_target
             and (plan.node(n.parent).label if n.parent else None) == parent_label]
    assert len(found) == 1
    return found[0]


def test_shared_prefixes_are_trained_once(tmp_path):
    plan = plan_for(tmp_path)
    summary = plan_summary(plan)
    # Per seed: A, B, B after A, A after B = 4 stage trainings; 5 orders x 1 fine-tuned target.
    assert summary["intermediate_trainings"] == 8
    assert summary["target_trainings"] == 10
    assert summary["stage_trainings"] == 18
    # Per seed, every (order, target) path alone: NER needs stages + 1, Tatoeba the stages:
    # A>B 3+2, B>A 3+2, A 2+1, B 2+1, baseline 1+0 = 17.
    assert summary["naive_stage_trainings"] == 34
    # NER: 5 orders x 2 seeds; Tatoeba: 4 orders x 2 seeds + one base-model evaluation for both seeds.
    assert summary["evaluations"] == 19
    assert summary["evaluation_cells"] == 10 * 2 + 9 * 1
    assert summary["contaminated_cells"] == 0
    assert summary["missing_data"] == []


def test_an_order_starting_with_a_stage_reuses_that_stage(tmp_path):
    plan = plan_for(tmp_path)
    a1 = node_by(plan, "A", 1)
    b_after_a = node_by(plan, "B", 1, parent_label="A")
    assert b_after_a.parent == a1.id
    assert [n.label for n in plan.path(b_after_a.id)] == ["A", "B"]
    children = {(n.label, n.is_target) for n in plan.children(a1.id)}
    assert children == {("B", False), ("panx", True)}
    orders_on_a1 = {e.order for e in plan.eval_nodes if a1.id in {n.id for n in plan.path(e.model_node)}}
    assert orders_on_a1 == {"A", "A>B"}
    # A's model is read by B-after-A, the NER fine-tuning and the Tatoeba evaluation of order A.
    assert len(plan.needed_by(a1.id)) == 3
    assert plan.needed_by(a1.id, done=plan.needed_by(a1.id)) == []


def test_the_baseline_fine_tunes_the_base_model_and_shares_its_retrieval_evaluation(tmp_path):
    plan = plan_for(tmp_path)
    roots = [n for n in plan.train_nodes if n.parent is None]
    assert sorted((n.label, n.seed) for n in roots if n.is_target) == [("panx", 1), ("panx", 2)]
    (base_eval,) = plan.evals_on(None)
    assert base_eval.task == "tatoeba" and base_eval.order == "baseline" and base_eval.seeds == (1, 2)


def test_train_nodes_come_parents_first(tmp_path):
    plan = plan_for(tmp_path)
    seen: set[str] = set()
    for node in plan.train_nodes:
        assert node.parent is None or node.parent in seen
        seen.add(node.id)


def test_identical_prefixes_hash_identically(tmp_path):
    first = plan_for(tmp_path, folder="one")
    second = plan_for(tmp_path, folder="two")  # same study, same data bytes, elsewhere on disk
    assert [n.id for n in first.train_nodes] == [n.id for n in second.train_nodes]
    assert [e.id for e in first.eval_nodes] == [e.id for e in second.eval_nodes]
    # A study that only adds a stage after A still shares A.
    extended = plan_for(tmp_path, STUDY.replace("[orders]", "[stages.C]\ntasks = [{ task = \"xnli\", lang = \"fr\", "
                                                "split = \"dev\", slice = \"[:10]\" }]\n\n[orders]"), folder="three")
    assert node_by(extended, "A", 1).id == node_by(first, "A", 1).id


def test_the_id_changes_with_the_data_content(tmp_path):
    before = plan_for(tmp_path, folder="one")
    german = tmp_path / "one" / "data" / "xnli" / "dev-de.tsv"
    german.write_text(german.read_text().replace("premise de 3", "premise de three"))
    after = plan_for(tmp_path, folder="one")
    assert node_by(after, "A", 1).id == node_by(before, "A", 1).id
    assert node_by(after, "B", 1).id != node_by(before, "B", 1).id
    # ... and so does everything trained after it.
    assert node_by(after, "A", 1, parent_label="B").id != node_by(before, "A", 1, parent_label="B").id


@pytest.mark.parametrize("old, new", [
    ("max_steps = 5", "max_steps = 6"),
    ("max_steps = 5", "max_steps = 5\nlearning_rate = 2e-5"),
    ('slice = "[:10]", dev_slice = "[10:15]" }]\n\n[stages.B]', 'slice = "[:9]", dev_slice = "[10:15]" }]\n\n[stages.B]'),
])
def test_the_id_changes_with_hyper_parameters_and_selection(tmp_path, old, new):
    assert old in STUDY
    before = plan_for(tmp_path, folder="one")
    after = plan_for(tmp_path, STUDY.replace(old, new), folder="two")
    assert node_by(after, "A", 1).id != node_by(before, "A", 1).id


def test_the_id_changes_with_the_seed_and_records_it(tmp_path):
    plan = plan_for(tmp_path)
    a1, a2 = node_by(plan, "A", 1), node_by(plan, "A", 2)
    assert a1.id != a2.id
    assert (a1.config.seed, a2.config.seed) == (1, 2)
    assert a1.identity["config"]["seed"] == 1 and "checkpoint_every" not in a1.identity["config"]
    assert a1.identity["tasks"][0]["train"]["data"] != MISSING


def test_missing_data_is_reported_not_fatal(tmp_path):
    text = STUDY.replace('data_dir = "data"', 'data_dir = "nowhere"')
    plan = plan_for(tmp_path, text)
    assert plan_summary(plan)["stage_trainings"] == 18
    missing = plan_summary(plan)["missing_data"]
    assert any(line.startswith("xnli dev for 2 languages (de en), e.g. no xnli dev data for 'de'") for line in missing)
    assert any(line.startswith("panx dev for 2 languages (de en)") for line in missing)
    assert node_by(plan, "A", 1).identity["tasks"][0]["train"]["data"] == MISSING


def test_steps_and_cost_follow_the_trainer(tmp_path):
    text = STUDY.replace("max_steps = 5", "epochs = 2\nbatch_size = 4")
    plan = plan_for(tmp_path, text)
    a1 = node_by(plan, "A", 1)
    assert a1.examples == (10,)
    assert training_steps(a1) == 6  # ceil(10 / 4) batches x 2 epochs
    ner = next(n for n in plan.train_nodes if n.is_target)
    assert ner.examples == (20,) and training_steps(ner) == 10
    cost = plan_summary(plan)["estimated_cost"]
    assert cost["train_steps"] == 8 * 6 + 10 * 10
    # 2 s a step at batch 16, scaled to batch 4, plus 10 s to load and save each of the 18 models.
    assert cost["train_seconds"] == round(cost["train_steps"] * 2.0 * 4 / 16 + 18 * 10)
    # NER: 6 sentences in 2 languages x 10 evaluations; Tatoeba: 5 + 5 sentences x 9 evaluations.
    assert cost["eval_examples"] == 10 * 12 + 9 * 10


def test_disk_estimate_counts_kept_models(tmp_path):
    best = plan_summary(plan_for(tmp_path, folder="one"))["disk_bytes_estimate"]
    assert best == 1000 * (18 + 4)  # every model, plus one training's checkpoint and best copy
    leaves = plan_summary(plan_for(tmp_path, STUDY + 'keep = "leaves"\n', folder="two"))["disk_bytes_estimate"]
    assert 1000 * (10 + 4) < leaves < best  # every fine-tuned model, a few stage models at a time


def test_training_on_evaluated_rows_flags_the_cells(tmp_path):
    text = STUDY + '[[targets]]\ntask = "xnli"\nlangs = ["en", "fr"]\ntrain = { split = "dev", slice = "[15:]", dev = false }\n'
    plan = plan_for(tmp_path, text)
    evaluations = {(e.order, e.seeds): e for e in plan.eval_nodes if e.task == "xnli"}
    # The target's own fine-tuning reads rows 15-19 of every language: all cells, every order.
    baseline = evaluations[("baseline", (1,))]
    assert set(baseline.contaminated) == {"en", "fr"}
    assert "trained on xnli:dev-en[15:] in xnli fine-tuning: rows 15-19 of xnli dev (all languages)" == \
        baseline.contaminated["fr"]


def test_disjoint_evaluation_rows_are_clean_and_overlapping_ones_flagged(tmp_path):
    clean = STUDY + '[[targets]]\ntask = "xnli"\nlangs = ["fr"]\neval_slice = "[15:]"\n' \
                    'train = { split = "dev", slice = "[10:15]", dev = false }\n'
    plan = plan_for(tmp_path, clean, folder="one")
    assert plan_summary(plan)["contaminated_cells"] == 0
    overlapping = clean.replace('eval_slice = "[15:]"', 'eval_slice = "[8:]"')
    plan = plan_for(tmp_path, overlapping, folder="two")
    after_b = next(e for e in plan.eval_nodes if e.task == "xnli" and e.order == "B")
    assert after_b.contaminated["fr"].split("; ") == [
        "trained on xnli:dev-de[:10] in stage B: rows 8-9 of xnli dev (all languages)",
        "checkpoint selected on xnli:dev-en[10:15] in stage B: rows 10-14 of xnli dev (all languages)",
        "trained on xnli:dev-en[10:15] in xnli fine-tuning: rows 10-14 of xnli dev (all languages)",
    ]
    baseline = next(e for e in plan.eval_nodes if e.task == "xnli" and e.order == "baseline")
    assert baseline.contaminated["fr"].startswith("trained on xnli:dev-en[10:15] in xnli fine-tuning: rows 10-14")


def test_a_dev_set_that_selects_the_checkpoint_counts(tmp_path):
    text = STUDY.replace('train = { slice = "[:20]", dev_slice = "[6:]" }', 'train = { slice = "[:20]" }')
    plan = plan_for(tmp_path, text, folder="one")
    ner = [e for e in plan.eval_nodes if e.task == "panx"]
    assert all(set(e.contaminated) == {"en"} for e in ner)
    assert ner[0].contaminated["en"] == ("checkpoint selected on panx:dev-en in panx fine-tuning: "
                                         "rows 0-5 of panx dev-en")
    # Keeping the last weights (no selection, no early stopping) leaves the dev set out of the weights.
    text = text.replace('train = { slice = "[:20]" }', 'train = { slice = "[:20]" }\nhparams = { select_best = false }')
    plan = plan_for(tmp_path, text, folder="two")
    assert plan_summary(plan)["contaminated_cells"] == 0


def test_identically_defined_stages_in_two_orders_are_an_error(tmp_path):
    text = STUDY.replace("[orders]", "[stages.A2]\ntasks = [{ task = \"xnli\", lang = \"en\", split = \"dev\", "
                                     "slice = \"[:10]\", dev_slice = \"[10:15]\" }]\n\n[orders]")
    with pytest.raises(ConfigError, match="orders 'A' and 'A2' train identical models"):
        plan_for(tmp_path, text)


def test_render_shows_stages_targets_and_sharing(tmp_path):
    plan = plan_for(tmp_path)
    output = io.StringIO()
    render_plan(plan, Console(file=output, width=200, color_system=None))
    text = output.getvalue()
    assert "18 trainings (34 if every path ran alone), 19 evaluations, 0 contaminated cells" in text
    assert text.count("-> panx fine-tuning") == 10
    assert "one evaluation for seeds 1, 2" in text
    assert "orders A, A>B" in text


def test_the_small_example_plans_on_the_shared_data(shared_data):
    plan = build_plan(load_study(EXAMPLES / "order_study_small.toml"), data_dir_override=shared_data)
    summary = plan_summary(plan)
    # Per seed: nli_en, nli_de, nli_de after nli_en, nli_en after nli_de; NER fine-tuned after
    # each of the 3 orders (baseline included). Every path alone: 2 x 3 stages + 1, a seed.
    assert (summary["intermediate_trainings"], summary["target_trainings"]) == (12, 9)
    assert summary["naive_stage_trainings"] == 33
    assert summary["contaminated_cells"] == 0
    assert summary["missing_data"] == []
    second = [n for n in plan.train_nodes if n.parent is not None and not n.is_target]
    assert sorted({n.label for n in second}) == ["nli_de", "nli_en"] and len(second) == 6
    assert all(n.examples == (2000,) for n in second)


def test_the_paper_example_plans_without_its_data(tmp_path):
    plan = build_plan(load_study(EXAMPLES / "order_study_paper.toml"), data_dir_override=tmp_path / "empty")
    summary = plan_summary(plan)
    assert summary["targets"] == ["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"]
    # 14 orders x 3 seeds x 6 fine-tunings: XQuAD and MLQA share one SQuAD v1.1 node (XTREME
    # trains one model for both), which also evaluates both.
    assert summary["target_trainings"] == 14 * 3 * 6
    squad = [n for n in plan.train_nodes if n.is_target and n.tasks[0].train.task == "squad_v1"]
    assert len(squad) == 14 * 3
    for node in squad[:3]:
        assert {e.task for e in plan.evals_on(node.id)} == {"xquad", "mlqa"}
    assert any(line.startswith("no mnli train data") for line in summary["missing_data"])
    assert summary["contaminated_cells"] == 0
    # Every order pair is contrasted: the permutations, the two named orders, each order against its mixed stage.
    assert {(c["a"], c["b"], c["relation"]) for c in summary["contrasts"]} == {
        ("nli_en>nli_de", "nli_de>nli_en", "orders"), ("qa_en>qa_de", "qa_de>qa_en", "orders"),
        ("nli_then_qa_en_first", "nli_then_qa_de_first", "orders"),
        ("nli_en>nli_de", "nli_en+nli_de", "mixed"), ("nli_de>nli_en", "nli_en+nli_de", "mixed"),
        ("qa_en>qa_de", "qa_en+qa_de", "mixed"), ("qa_de>qa_en", "qa_en+qa_de", "mixed"),
        ("nli_then_qa_en_first", "baseline", "listed")}
    # Retrieval targets after the 3rd stage of the named orders (earlier prefixes are other orders' results).
    assert summary["trajectory_evaluations"] == 2 * 2 * 3
    mnli = next(n for n in plan.train_nodes if n.label == "nli_en")
    assert training_steps(mnli) == 3 * -(-392_702 // 32)  # reference size stands in for missing data


def _nli_qa_study(tmp_path, tasks_toml: str, hparams: str = "") -> str:
    return f"""
name = "mix"
model = "xlm-roberta-large"
output_dir = "{tmp_path / 'runs'}"
seeds = [1]
[stages.mixed]
tasks = {tasks_toml}
{hparams}
[orders]
named = {{ one = ["mixed"] }}
[[targets]]
task = "panx"
"""


def test_mixed_stage_defaults_do_not_depend_on_listing_order(tmp_path):
    from xstilts.errors import ConfigError

    def plan_of(text):
        path = tmp_path / "study.toml"
        path.write_text(text)
        return build_plan(load_study(path), data_dir_override=tmp_path / "empty")

    # NLI (batch 32, length 256) and QA (batch 16, length 384) disagree: a one-line error, either way round.
    for tasks in ('[{ task = "mnli" }, { task = "squad_v1" }]', '[{ task = "squad_v1" }, { task = "mnli" }]'):
        with pytest.raises(ConfigError, match="different default batch_size"):
            plan_of(_nli_qa_study(tmp_path, tasks))
    # Set by the study: then both listings are the same node.
    fixed = '[stages.mixed.hparams]\nbatch_size = 16\nmax_length = 384'
    a = plan_of(_nli_qa_study(tmp_path, '[{ task = "mnli" }, { task = "squad_v1" }]', fixed))
    b = plan_of(_nli_qa_study(tmp_path, '[{ task = "squad_v1" }, { task = "mnli" }]', fixed))
    assert [n.id for n in a.train_nodes] == [n.id for n in b.train_nodes]


def test_identity_records_resolved_precision_model_content_and_examples(shared_data, tmp_path):
    plan = build_plan(load_study(EXAMPLES / "order_study_small.toml"), data_dir_override=shared_data)
    first = next(n for n in plan.train_nodes if n.label == "nli_en" and n.parent is None)
    identity = first.identity
    assert identity["config"]["mixed_precision"] in ("no", "bf16")  # never "auto"
    assert "/" not in json.dumps(identity["base_model"])  # no absolute path: content hashes
    task = identity["tasks"][0]["train"]
    assert len(task["examples"]) == 64 and task["featurizer"].startswith("pair_classification/")
    assert identity["config"]["preset"] == "paper" and identity["config"]["group_by_length"] is False


def test_xquad_and_mlqa_share_one_squad_node_on_the_same_explicit_files(tmp_path):
    squad = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "Paris is big.", "qas": [
        {"id": f"q{i}", "question": "Which?", "answers": [{"text": "Paris", "answer_start": 0}]} for i in range(4)]}]}]}
    (tmp_path / "my-squad.json").write_text(json.dumps(squad))
    (tmp_path / "study.toml").write_text("""
name = "qa"
model = "multilingual-e5-small"
data_dir = "data"
output_dir = "runs"
seeds = [1]
[orders]
baseline = true
[[targets]]
task = "xquad"
langs = ["de"]
train = { files = ["my-squad.json"], dev = false }
[[targets]]
task = "mlqa"
langs = ["de"]
train = { files = ["my-squad.json"], dev = false }
""")
    plan = build_plan(load_study(tmp_path / "study.toml"))
    (node,) = [n for n in plan.train_nodes if n.is_target]
    assert node.tasks[0].train.task == "squad_v1"
    assert {e.task for e in plan.evals_on(node.id)} == {"xquad", "mlqa"}


def test_eval_precision_enters_the_evaluation_identity_only_when_bf16(tmp_path):
    plain = plan_for(tmp_path)
    explicit = plan_for(tmp_path, STUDY.replace("seeds = [1, 2]", 'seeds = [1, 2]\neval_precision = "fp32"'),
                        folder="fp32")
    # fp32 is the default: written out or not, every id stays what it was before the option existed.
    assert [e.id for e in explicit.eval_nodes] == [e.id for e in plain.eval_nodes]
    assert {e.eval_precision for e in plain.eval_nodes} == {"fp32"}
    one_target = plan_for(tmp_path, STUDY.replace('task = "tatoeba"', 'task = "tatoeba"\neval_precision = "bf16"'),
                          folder="bf16")
    assert [n.id for n in one_target.train_nodes] == [n.id for n in plain.train_nodes]  # trainings untouched
    for before, after in zip(plain.eval_nodes, one_target.eval_nodes):
        assert (after.id != before.id) == (after.task == "tatoeba")
        assert after.eval_precision == ("bf16" if after.task == "tatoeba" else "fp32")


def test_a_bad_eval_precision_is_a_one_line_error_naming_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"eval_precision: .*'fp32' or 'bf16'") as error:
        plan_for(tmp_path, STUDY.replace("seeds = [1, 2]", 'seeds = [1, 2]\neval_precision = "fp16"'))
    assert "\n" not in str(error.value)
