"""The bad-input corpus: what a hostile or careless user types, and the one line they must get.

Each case is a command line, the files it writes first (under the test's tmp folder), the
fragment the single stderr line must contain, and what `needs` it has (the shared XTREME data,
the tiny model). Placeholders in arguments and file texts: {tmp} the case's folder, {data} the
shared data, {tiny} a tiny valid model folder. A file's content may be a callable of the data
folder (to build predictions of the right length).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

Content = Union[str, bytes, Callable[[Path], Union[str, bytes]]]


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    expect: str  # fragment of the one stderr line
    files: dict[str, Content] = field(default_factory=dict)
    needs: frozenset[str] = frozenset()
    absent: tuple[str, ...] = ()  # paths (under {tmp}) the failed command must not leave behind
    setup: Callable[[Path, Path | None, Path | None], None] | None = None


DATA = frozenset({"data"})
MODEL = frozenset({"data", "model"})


def _lines(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def _xnli_de_count(data: Path) -> int:
    # The rows the reader accepts (the file's own header and blank lines do not count).
    from xstilts.tasks.load import read_task_file
    from xstilts.tasks.registry import get_task

    return len(read_task_file(get_task("xnli"), data / "xnli" / "dev-de.tsv", lang="de"))


def _labels(n: int, label: str = "entailment") -> str:
    return "".join(f"{label}\n" for _ in range(n))


def _tatoeba_preds(data: Path, value: str | None = None) -> str:
    n = _lines(data / "tatoeba" / "tatoeba.afr-eng.eng")
    return "".join(f"{value if value is not None else i}\n" for i in range(n))


def _bucc_swapped(data: Path) -> str:
    pairs = [line.split("\t") for line in (data / "bucc2018" / "zh-en.dev.gold").read_text().splitlines() if line]
    return "".join(f"{t.strip()}\t{s.strip()}\n" for s, t in pairs)


def _mlqa_gold(answer_start: int = 0, text: str = "Paris") -> str:
    return json.dumps({"data": [{"title": "t", "paragraphs": [{
        "context": "Paris is big.", "qas": [{"id": "q1", "question": "Which?",
                                            "answers": [{"text": text, "answer_start": answer_start}]}]}]}]})


STUDY = """
name = "bad"
model = "{tiny}"
data_dir = "{data}"
output_dir = "{tmp}/out"
seeds = [1]

[hparams]
max_steps = 1
batch_size = 4
max_length = 32

[stages.nli]
tasks = [{ task = "xnli", lang = "en", split = "dev", slice = "[:8]", dev = false }]

[orders]
singles = true

[[targets]]
task = "panx"
langs = ["en"]
eval_slice = "[:8]"
train = { split = "train", slice = "[:8]", dev_slice = "[100:108]" }
"""


def study(**replace: str) -> str:
    """The valid study above with some lines replaced (old text -> new text, as keyword pairs)."""
    text = STUDY
    for old, new in replace.values():
        assert old in text, old
        text = text.replace(old, new)
    return text


def _r(old: str, new: str) -> dict[str, tuple[str, str]]:
    return {"edit": (old, new)}


def _empty_store(tmp: Path, data: Path | None, model: Path | None) -> None:
    from xstilts.results.store import ResultStore

    ResultStore(tmp / "out" / "results.sqlite")


def _model_folder(tmp: Path, model: Path | None, edit: Callable[[Path], None]) -> None:
    import shutil

    target = tmp / "model"
    shutil.copytree(model, target)
    edit(target)


def _truncate(path: Path, keep: float = 0.5) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(int(path.stat().st_size * keep))


def _config_edit(**changes) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        config.update(changes)
        (folder / "config.json").write_text(json.dumps(config))

    return edit


def model_setup(edit: Callable[[Path], None]):
    return lambda tmp, data, model: _model_folder(tmp, model, edit)


TRAIN = ("train", "--task", "xnli", "--lang", "en", "--train-split", "dev", "--train-slice", "[:8]", "--no-dev",
         "--data", "{data}", "--out", "{tmp}/run")
EVAL = ("evaluate", "--task", "xnli", "--langs", "de", "--data", "{data}", "--out", "{tmp}/ev", "--max-examples", "4")
SCORE_XNLI = ("score", "--task", "xnli", "--lang", "de", "--gold", "{data}/xnli/dev-de.tsv", "--pred", "{tmp}/p.tsv")
SCORE_MLQA = ("score", "--task", "mlqa", "--lang", "en", "--gold", "{data}/mlqa/dev-context-en-question-en.json",
              "--pred", "{tmp}/p.json")
SCORE_TATOEBA = ("score", "--task", "tatoeba", "--lang", "af", "--gold", "{data}/tatoeba/tatoeba.afr-eng.afr",
                 "--pred", "{tmp}/p.tsv")
SCORE_BUCC = ("score", "--task", "bucc2018", "--lang", "zh", "--gold", "{data}/bucc2018/zh-en.dev.zh",
              "--pred", "{tmp}/p.tsv")
SCORE_PANX = ("score", "--task", "panx", "--lang", "de", "--gold", "{data}/panx/dev-de.tsv", "--pred", "{tmp}/p.tsv")

# A study declaring its own task ([tasks.mine], files next to the study); no shared data needed.
DECLARED = """
name = "declared"
model = "{tmp}/m"
output_dir = "{tmp}/out"
seeds = [1]

[tasks.mine]
kind = "pair_classification"
format = "tsv"
path = "d/{split}-{lang}.tsv"
columns = { text_a = 0, text_b = 1, label = 2 }
labels = ["0", "1"]
langs = ["en", "de"]

[stages.s]
tasks = [{ task = "mine", lang = "en", split = "train", slice = "[:1]", dev = false }]

[orders]
singles = true

[[targets]]
task = "mine"
langs = ["en", "de"]
train = { split = "train", dev = false }
"""
DECLARED_FILES: dict[str, Content] = {"m/config.json": "{}", "d/train-en.tsv": "a\tb\t1\nc\td\t0\n",
                                      "d/dev-en.tsv": "e\tf\t1\n", "d/dev-de.tsv": "g\th\t0\n"}


def declared(old: str = "", new: str = "", files: dict[str, Content | None] | None = None) -> dict[str, Content]:
    """The declared-task study with one edit, and its files (``files``: replaced or, as None, removed)."""
    assert old in DECLARED, old
    chosen = {**DECLARED_FILES, **(files or {})}
    return {"s.toml": DECLARED.replace(old, new, 1), **{k: v for k, v in chosen.items() if v is not None}}


CASES: list[Case] = [
    # ------------------------------------------------------------ the scorer: languages
    Case("score-mlqa-en-on-zh-gold", ("score", "--task", "mlqa", "--lang", "en", "--gold",
                                      "{data}/mlqa/dev-context-zh-question-zh.json", "--pred", "{tmp}/p.json"),
         "named for language 'zh'", {"p.json": "{}"}, DATA),
    Case("score-lang-xx", ("score", "--task", "xnli", "--lang", "xx", "--gold", "{data}/xnli/dev-de.tsv",
                           "--pred", "{tmp}/p.tsv"), "--lang 'xx'", {"p.tsv": "entailment\n"}, DATA),
    Case("score-lang-contradicts-gold-name", ("score", "--task", "xnli", "--lang", "fr", "--gold",
                                              "{data}/xnli/dev-de.tsv", "--pred", "{tmp}/p.tsv"),
         "named for language 'de'", {"p.tsv": "entailment\n"}, DATA),
    Case("score-panx-lang-not-of-task", ("score", "--task", "panx", "--lang", "qq", "--gold", "{data}/panx/dev-de.tsv",
                                         "--pred", "{tmp}/p.tsv"), "not a language of panx", {"p.tsv": "O\n"}, DATA),
    Case("score-unknown-task", ("score", "--task", "nosuchtask", "--lang", "de", "--gold", "{tmp}/g.tsv",
                                "--pred", "{tmp}/p.tsv"), "nosuchtask", {"g.tsv": "x\n", "p.tsv": "x\n"}),
    Case("score-gold-missing", ("score", "--task", "xnli", "--lang", "de", "--gold", "{tmp}/nope/dev-de.tsv",
                                "--pred", "{tmp}/p.tsv"), "gold file not found", {"p.tsv": "entailment\n"}),
    # ------------------------------------------------------------ the scorer: prediction files
    Case("score-pred-missing", SCORE_XNLI, "prediction file not found", {}, DATA),
    Case("score-pred-not-utf8", SCORE_XNLI, "not UTF-8", {"p.tsv": b"entailment\n\xff\xfe\n"}, DATA),
    Case("score-pred-unknown-label", SCORE_XNLI, "p.tsv:1: unknown label 'maybe'", {"p.tsv": "maybe\n"}, DATA),
    Case("score-pred-blank-line", SCORE_XNLI, "p.tsv:2: expected a label, found a blank line",
         {"p.tsv": "entailment\n\nentailment\n"}, DATA),
    Case("score-pred-too-many", SCORE_XNLI, "found more",
         {"p.tsv": lambda data: _labels(_xnli_de_count(data) + 1)}, DATA),
    Case("score-pred-too-few", SCORE_XNLI, "p.tsv", {"p.tsv": _labels(3)}, DATA),
    Case("score-pred-label-case", SCORE_XNLI, "unknown label 'Entailment'", {"p.tsv": "Entailment\n"}, DATA),
    Case("score-qa-empty-object", SCORE_MLQA, "no predictions", {"p.json": "{}"}, DATA),
    Case("score-qa-list", SCORE_MLQA, "expected a JSON object", {"p.json": "[]"}, DATA),
    Case("score-qa-invalid-json", SCORE_MLQA, "p.json:1: invalid JSON", {"p.json": "{'a': 1}"}, DATA),
    Case("score-qa-unknown-ids", SCORE_MLQA, "none of its 2 question ids", {"p.json": '{"x": "a", "y": "b"}'}, DATA),
    Case("score-qa-answer-not-string", SCORE_MLQA, "is a int", {"p.json": '{"x": 1}'}, DATA),
    Case("score-qa-not-utf8", SCORE_MLQA, "not UTF-8", {"p.json": b'{"x": "\xff"}'}, DATA),
    Case("score-qa-gold-not-utf8", ("score", "--task", "mlqa", "--lang", "en", "--gold",
                                    "{tmp}/dev-context-en-question-en.json", "--pred", "{tmp}/p.json"),
         "dev-context-en-question-en.json:1: not UTF-8",
         {"dev-context-en-question-en.json": b'{"data": "\xff"}', "p.json": "{}"}),
    Case("score-qa-gold-answer-start-past-context", ("score", "--task", "mlqa", "--lang", "en", "--gold",
                                                     "{tmp}/dev-context-en-question-en.json", "--pred", "{tmp}/p.json"),
         "answer_start: 40 puts the answer outside its context",
         {"dev-context-en-question-en.json": _mlqa_gold(40), "p.json": '{"q1": "Paris"}'}),
    Case("score-qa-gold-negative-answer-start", ("score", "--task", "mlqa", "--lang", "en", "--gold",
                                                 "{tmp}/dev-context-en-question-en.json", "--pred", "{tmp}/p.json"),
         "answer_start: -5", {"dev-context-en-question-en.json": _mlqa_gold(-5), "p.json": '{"q1": "Paris"}'}),
    Case("score-qa-gold-invalid-json", ("score", "--task", "mlqa", "--lang", "en", "--gold",
                                        "{tmp}/dev-context-en-question-en.json", "--pred", "{tmp}/p.json"),
         "dev-context-en-question-en.json:1: invalid JSON",
         {"dev-context-en-question-en.json": '{"data": [', "p.json": "{}"}),
    Case("score-qa-gold-no-data-key", ("score", "--task", "mlqa", "--lang", "en", "--gold",
                                       "{tmp}/dev-context-en-question-en.json", "--pred", "{tmp}/p.json"),
         "'data' field", {"dev-context-en-question-en.json": '{"version": 1}', "p.json": "{}"}),
    Case("score-tatoeba-index-past-end", SCORE_TATOEBA, "p.tsv:1: index 5000 is past the end",
         {"p.tsv": lambda data: _tatoeba_preds(data, "5000")}, DATA),
    Case("score-tatoeba-negative", SCORE_TATOEBA, "p.tsv:1: expected a non-negative integer",
         {"p.tsv": "-1\n"}, DATA),
    Case("score-tatoeba-text", SCORE_TATOEBA, "p.tsv:1: expected a non-negative integer", {"p.tsv": "abc\n"}, DATA),
    Case("score-tatoeba-too-few", SCORE_TATOEBA, "file ends after 2", {"p.tsv": "0\n1\n"}, DATA),
    Case("score-bucc-swapped-columns", SCORE_BUCC, "columns swapped", {"p.tsv": _bucc_swapped}, DATA),
    Case("score-bucc-one-column", SCORE_BUCC, "p.tsv:1: expected 'source id<TAB>target id'",
         {"p.tsv": "zh-000000057\n"}, DATA),
    Case("score-bucc-label-file-swapped", ("score", "--task", "bucc2018", "--lang", "zh", "--gold", "{tmp}/gold.txt",
                                           "--pred", "{tmp}/p.tsv"), "columns swapped",
         {"gold.txt": "zh-1\ten-9\n", "p.tsv": "en-9\tzh-1\n"}),
    Case("score-panx-unknown-tag", SCORE_PANX, "unknown label 'B-FOO'", {"p.tsv": "B-FOO\n"}, DATA),
    Case("score-panx-not-utf8", SCORE_PANX, "not UTF-8", {"p.tsv": b"\xc3\x28\n"}, DATA),
    Case("score-markup-in-path", ("score", "--task", "xnli", "--lang", "de", "--gold", "{data}/xnli/dev-de.tsv",
                                  "--pred", "{tmp}/a[/bold]b.tsv"), "a[/bold]b.tsv: prediction file not found", {}, DATA),
    Case("score-brackets-in-path", ("score", "--task", "xnli", "--lang", "de", "--gold", "{data}/xnli/dev-de.tsv",
                                    "--pred", "{tmp}/[abc].tsv"), "[abc].tsv: prediction file not found", {}, DATA),
    Case("score-markup-close-tag", ("score", "--task", "xnli", "--lang", "de", "--gold", "{data}/xnli/dev-de.tsv",
                                    "--pred", "{tmp}/[/x].tsv"), "[/x].tsv", {}, DATA),
    # ------------------------------------------------------------ score-folder
    Case("score-folder-empty", ("score-folder", "--pred", "{tmp}/preds", "--gold", "{data}"),
         "no prediction files found", {"preds/.keep": ""}, DATA),
    Case("score-folder-only-unknown-files", ("score-folder", "--pred", "{tmp}/preds", "--gold", "{data}"),
         "no prediction files found", {"preds/xnli/notes.txt": "hello"}, DATA),
    Case("score-folder-missing", ("score-folder", "--pred", "{tmp}/nope", "--gold", "{data}"),
         "prediction folder not found", {}, DATA),
    Case("score-folder-two-splits", ("score-folder", "--pred", "{tmp}/preds", "--gold", "{data}"), "several splits",
         {"preds/xnli/dev-de.tsv": "entailment\n", "preds/xnli/test-de.tsv": "entailment\n"}, DATA),
    Case("score-folder-bad-label", ("score-folder", "--pred", "{tmp}/preds", "--gold", "{data}"),
         "dev-de.tsv:1: unknown label", {"preds/xnli/dev-de.tsv": "nope\n"}, DATA),
    # ------------------------------------------------------------ data check
    Case("data-check-missing-dir", ("data", "check", "{tmp}/nodata"), "does not exist", {}),
    # ------------------------------------------------------------ study files (plan)
    Case("plan-missing-file", ("plan", "{tmp}/none.toml"), "cannot read the study file", {}),
    Case("plan-not-utf8", ("plan", "{tmp}/s.toml"), "s.toml:2: not UTF-8", {"s.toml": b'name = "x"\n# \xff\n'}),
    Case("plan-invalid-toml", ("plan", "{tmp}/s.toml"), "s.toml", {"s.toml": 'name = "x\n'}),
    Case("plan-unknown-key", ("plan", "{tmp}/s.toml"), "unknown key 'sedes'",
         {"s.toml": study(**_r("seeds = [1]", "sedes = [1]"))}, MODEL),
    Case("plan-seed-too-large", ("plan", "{tmp}/s.toml"), "seed 4294967296 is outside",
         {"s.toml": study(**_r("seeds = [1]", "seeds = [4294967296]"))}, MODEL),
    Case("plan-seed-negative", ("plan", "{tmp}/s.toml"), "seed -1 is outside",
         {"s.toml": study(**_r("seeds = [1]", "seeds = [-1]"))}, MODEL),
    Case("plan-seed-twice", ("plan", "{tmp}/s.toml"), "listed twice",
         {"s.toml": study(**_r("seeds = [1]", "seeds = [1, 1]"))}, MODEL),
    Case("plan-no-seeds", ("plan", "{tmp}/s.toml"), "seeds", {"s.toml": study(**_r("seeds = [1]", "seeds = []"))},
         MODEL),
    Case("plan-seed-string", ("plan", "{tmp}/s.toml"), "seeds", {"s.toml": study(**_r("seeds = [1]", 'seeds = ["a"]'))},
         MODEL),
    Case("plan-missing-name", ("plan", "{tmp}/s.toml"), "name", {"s.toml": study(**_r('name = "bad"', ""))}, MODEL),
    Case("plan-bad-slice-syntax", ("plan", "{tmp}/s.toml"), "slice '[abc]'",
         {"s.toml": study(**_r('slice = "[:8]"', 'slice = "[abc]"'))}, MODEL),
    Case("plan-statically-empty-slice", ("plan", "{tmp}/s.toml"), "slice '[10:5]' selects no rows",
         {"s.toml": study(**_r('slice = "[:8]"', 'slice = "[10:5]"'))}, MODEL),
    Case("plan-zero-slice", ("plan", "{tmp}/s.toml"), "selects no rows",
         {"s.toml": study(**_r('eval_slice = "[:8]"', 'eval_slice = "[:0]"'))}, MODEL),
    Case("plan-past-the-end-slice", ("plan", "{tmp}/s.toml"), "slice '[100000:]' of xnli en dev selects no rows",
         {"s.toml": study(**_r('slice = "[:8]"', 'slice = "[100000:]"'))}, MODEL),
    Case("plan-past-the-end-eval-slice", ("plan", "{tmp}/s.toml"), "selects no rows",
         {"s.toml": study(**_r('eval_slice = "[:8]"', 'eval_slice = "[900000:]"'))}, MODEL),
    Case("plan-unknown-task", ("plan", "{tmp}/s.toml"), "nosuch",
         {"s.toml": study(**_r('task = "xnli"', 'task = "nosuch"'))}, MODEL),
    Case("plan-unknown-target-task", ("plan", "{tmp}/s.toml"), "nosuch",
         {"s.toml": study(**_r('task = "panx"', 'task = "nosuch"'))}, MODEL),
    Case("plan-unknown-language", ("plan", "{tmp}/s.toml"), "xx",
         {"s.toml": study(**_r('langs = ["en"]', 'langs = ["xx"]'))}, MODEL),
    Case("plan-negative-max-steps", ("plan", "{tmp}/s.toml"), "max_steps",
         {"s.toml": study(**_r("max_steps = 1", "max_steps = -3"))}, MODEL),
    Case("plan-hparam-unknown", ("plan", "{tmp}/s.toml"), "unknown key 'learning_rat'",
         {"s.toml": study(**_r("max_length = 32", "max_length = 32\nlearning_rat = 1"))}, MODEL),
    Case("plan-zero-workers", ("plan", "{tmp}/s.toml"), "workers",
         {"s.toml": study(**_r("train = {", "[execution]\nworkers = 0\n[[targets]]\ntask = \"xnli\"\ntrain = {"))},
         MODEL),
    Case("plan-keep-all-removed", ("plan", "{tmp}/s.toml"), 'execution.keep: keep "all" is gone',
         {"s.toml": study(**_r('dev_slice = "[100:108]" }', 'dev_slice = "[100:108]" }\n[execution]\nkeep = "all"'))},
         MODEL),
    Case("run-keep-all-removed", ("run", "{tmp}/s.toml", "--keep", "all"), '--keep: keep "all" is gone',
         {"s.toml": study()}, MODEL),
    Case("plan-order-unknown-stage", ("plan", "{tmp}/s.toml"), "nli_xx",
         {"s.toml": study(**_r("singles = true", 'permutations = [["nli", "nli_xx"]]'))}, MODEL),
    Case("run-data-dir-missing", ("run", "{tmp}/s.toml"), "data selections are missing",
         {"s.toml": study(**_r('data_dir = "{data}"', 'data_dir = "{tmp}/nodata"'))}, MODEL),
    Case("plan-text-for-number", ("plan", "{tmp}/s.toml"), "batch_size",
         {"s.toml": study(**_r("batch_size = 4", 'batch_size = "four"'))}, MODEL),
    # ------------------------------------------------------------ run
    Case("run-output-dir-is-a-file", ("run", "{tmp}/s.toml"), "exists and is not a folder",
         {"s.toml": study(**_r("{tmp}/out", "{tmp}/afile")), "afile": "x"}, MODEL),
    Case("run-output-dir-cannot-be-created", ("run", "{tmp}/s.toml"), "cannot be created",
         {"s.toml": study(**_r("{tmp}/out", "{tmp}/afile/out")), "afile": "x"}, MODEL),
    Case("run-bad-executor", ("run", "{tmp}/s.toml", "--executor", "spark"), "--executor", {"s.toml": study()}, MODEL),
    Case("run-bad-keep", ("run", "{tmp}/s.toml", "--keep", "some"), "--keep", {"s.toml": study()}, MODEL),
    Case("run-seed-too-large", ("run", "{tmp}/s.toml"), "seed 99999999999 is outside",
         {"s.toml": study(**_r("seeds = [1]", "seeds = [99999999999]"))}, MODEL, absent=("out",)),
    Case("run-empty-model-folder", ("run", "{tmp}/s.toml"), "config.json: missing",
         {"s.toml": study(**_r('model = "{tiny}"', 'model = "{tmp}/emptymodel"')), "emptymodel/.keep": ""}, DATA,
         absent=("out",)),
    Case("run-unknown-hub-model", ("run", "{tmp}/s.toml"), "cannot be reached",
         {"s.toml": study(**_r('model = "{tiny}"', 'model = "nobody-xyz/no-such-model"'))}, DATA, absent=("out",)),
    # ------------------------------------------------------------ results
    Case("results-show-missing-study", ("results", "show", "{tmp}/none.toml"), "cannot read the study file", {}),
    Case("results-export-never-ran", ("results", "export", "{tmp}/s.toml", "--out", "{tmp}/x.csv"),
         "no results to export", {"s.toml": study()}, MODEL, absent=("out/results.sqlite", "x.csv")),
    Case("results-export-suffix-contradicts", ("results", "export", "{tmp}/s.toml", "--out", "{tmp}/x.csv",
                                               "--format", "parquet"), "a .csv name for parquet data",
         {"s.toml": study()}, MODEL, absent=("x.csv",), setup=_empty_store),
    Case("results-export-unknown-format", ("results", "export", "{tmp}/s.toml", "--out", "{tmp}/x.xml"),
         "export format 'xml'", {"s.toml": study()}, MODEL, absent=("x.xml",), setup=_empty_store),
    Case("results-rebuild-missing-study", ("results", "rebuild", "{tmp}/none.toml"), "cannot read the study file", {}),
    Case("results-export-broken-store", ("results", "export", "{tmp}/s.toml", "--out", "{tmp}/x.csv"),
         "not a usable xstilts results store", {"s.toml": study(), "out/results.sqlite": "garbage" * 100}, MODEL,
         absent=("x.csv",)),
    # ------------------------------------------------------------ train: options
    Case("train-negative-max-steps", (*TRAIN, "--model", "{tiny}", "--max-steps", "-3"), "max_steps", {}, MODEL,
         absent=("run",)),
    Case("train-seed-too-large", (*TRAIN, "--model", "{tiny}", "--seed", "4294967296"), "seed", {}, MODEL,
         absent=("run",)),
    Case("train-seed-negative", (*TRAIN, "--model", "{tiny}", "--seed", "-5"), "seed", {}, MODEL, absent=("run",)),
    Case("train-zero-lr", (*TRAIN, "--model", "{tiny}", "--lr", "0"), "learning_rate", {}, MODEL, absent=("run",)),
    Case("train-zero-batch", (*TRAIN, "--model", "{tiny}", "--batch-size", "0"), "batch_size", {}, MODEL,
         absent=("run",)),
    Case("train-bad-precision", (*TRAIN, "--model", "{tiny}", "--mixed-precision", "fp8"), "mixed_precision", {},
         MODEL, absent=("run",)),
    Case("train-max-steps-text", (*TRAIN, "--model", "{tiny}", "--max-steps", "abc"), "--max-steps", {}, MODEL,
         absent=("run",)),
    Case("train-unknown-task", ("train", "--model", "{tiny}", "--task", "nosuch", "--out", "{tmp}/run"), "nosuch",
         {}, MODEL, absent=("run",)),
    Case("train-bad-slice", (*TRAIN[:8], "[abc]", *TRAIN[9:], "--model", "{tiny}"), "slice '[abc]'", {}, MODEL,
         absent=("run",)),
    Case("train-missing-option", ("train", "--task", "xnli", "--out", "{tmp}/run"), "Missing option '--model'", {},
         absent=("run",)),
    # ------------------------------------------------------------ train: model folders
    Case("train-model-not-found", (*TRAIN, "--model", "{tmp}/nomodel"), "local folder {tmp}/nomodel not found", {},
         DATA, absent=("run",)),
    Case("train-model-empty-folder", (*TRAIN, "--model", "{tmp}/model"), "model/config.json: missing", {}, MODEL,
         absent=("run",), setup=model_setup(lambda f: [p.unlink() for p in f.iterdir()])),
    Case("train-model-no-config", (*TRAIN, "--model", "{tmp}/model"), "config.json: missing", {}, MODEL,
         absent=("run",), setup=model_setup(lambda f: (f / "config.json").unlink())),
    Case("train-model-truncated-config", (*TRAIN, "--model", "{tmp}/model"), "config.json: not valid JSON", {}, MODEL,
         absent=("run",), setup=model_setup(lambda f: _truncate(f / "config.json"))),
    Case("train-model-config-not-utf8", (*TRAIN, "--model", "{tmp}/model"), "config.json: not valid JSON", {}, MODEL,
         absent=("run",), setup=model_setup(lambda f: (f / "config.json").write_bytes(b"\xff\xfe{"))),
    Case("train-model-config-no-type", (*TRAIN, "--model", "{tmp}/model"), "no 'model_type'", {}, MODEL,
         absent=("run",), setup=model_setup(lambda f: (f / "config.json").write_text('{"hidden_size": 32}'))),
    Case("train-model-no-weights", (*TRAIN, "--model", "{tmp}/model"), "no weights file", {}, MODEL,
         absent=("run",), setup=model_setup(lambda f: (f / "model.safetensors").unlink())),
    Case("train-model-truncated-weights", (*TRAIN, "--model", "{tmp}/model"), "model.safetensors: truncated", {},
         MODEL, absent=("run",), setup=model_setup(lambda f: _truncate(f / "model.safetensors", 0.9))),
    Case("train-model-tiny-weights-file", (*TRAIN, "--model", "{tmp}/model"), "model.safetensors: truncated", {},
         MODEL, absent=("run",), setup=model_setup(lambda f: (f / "model.safetensors").write_bytes(b"\x01\x02"))),
    Case("train-model-inconsistent-vocab", (*TRAIN, "--model", "{tmp}/model"), "does not match the weights", {},
         MODEL, absent=("run",), setup=model_setup(_config_edit(vocab_size=1000))),
    Case("train-model-inconsistent-layers", (*TRAIN, "--model", "{tmp}/model"), "num_hidden_layers 4", {}, MODEL,
         absent=("run",), setup=model_setup(_config_edit(num_hidden_layers=4))),
    Case("train-unknown-hub-id", (*TRAIN, "--model", "nobody-xyz/no-such-model"), "cannot be reached", {}, DATA,
         absent=("run",)),
    Case("train-out-is-a-file", (*TRAIN[:-1], "{tmp}/afile", "--model", "{tiny}"), "afile", {"afile": "x"}, MODEL),
    # ------------------------------------------------------------ evaluate
    Case("evaluate-model-not-found", (*EVAL, "--model", "{tmp}/nomodel"), "not found", {}, DATA, absent=("ev",)),
    Case("evaluate-model-empty-folder", (*EVAL, "--model", "{tmp}/model"), "config.json: missing", {}, MODEL,
         absent=("ev",), setup=model_setup(lambda f: [p.unlink() for p in f.iterdir()])),
    Case("evaluate-model-truncated-weights", (*EVAL, "--model", "{tmp}/model"), "truncated", {}, MODEL,
         absent=("ev",), setup=model_setup(lambda f: _truncate(f / "model.safetensors"))),
    Case("evaluate-unknown-task", ("evaluate", "--model", "{tiny}", "--task", "nosuch", "--out", "{tmp}/ev"),
         "nosuch", {}, MODEL, absent=("ev",)),
    Case("evaluate-bad-slice", (*EVAL, "--model", "{tiny}", "--slice", "[abc]"), "slice '[abc]'", {}, MODEL,
         absent=("ev",)),
    Case("evaluate-batch-size-text", (*EVAL, "--model", "{tiny}", "--batch-size", "x"), "--batch-size", {}, MODEL,
         absent=("ev",)),
    Case("evaluate-bad-precision", (*EVAL, "--model", "{tiny}", "--eval-precision", "fp16"),
         "--eval-precision: expected 'fp32' or 'bf16', got 'fp16'", {}, MODEL, absent=("ev",)),
    Case("plan-bad-eval-precision", ("plan", "{tmp}/s.toml"), "eval_precision: input should be 'fp32' or 'bf16'",
         {"s.toml": study(**_r("seeds = [1]", 'seeds = [1]\neval_precision = "fp16"'))}, MODEL),
    Case("plan-bad-target-eval-precision", ("plan", "{tmp}/s.toml"), "targets[0].eval_precision: input should be",
         {"s.toml": study(**_r('langs = ["en"]', 'langs = ["en"]\neval_precision = "half"'))}, MODEL),
    # ------------------------------------------------------------ a task declared in the study file
    Case("plan-declared-bad-column", ("plan", "{tmp}/s.toml"), "tasks.mine.columns.label: expected a column number",
         declared("label = 2", 'label = "gold"')),
    Case("plan-declared-missing-column", ("plan", "{tmp}/s.toml"), "tasks.mine.columns.text_b: required for",
         declared("text_b = 1, ", "")),
    Case("plan-declared-unknown-key", ("plan", "{tmp}/s.toml"), "tasks.mine: unknown key 'colums'",
         declared("columns =", "colums =")),
    Case("plan-declared-kind-unknown", ("plan", "{tmp}/s.toml"), "tasks.mine.kind: input should be",
         declared('kind = "pair_classification"', 'kind = "ranking"')),
    Case("plan-declared-format-of-kind", ("plan", "{tmp}/s.toml"), "tasks.mine.format: pair_classification tasks "
         "read tsv or jsonl files, not conllu", declared('format = "tsv"', 'format = "conllu"')),
    Case("plan-declared-no-labels", ("plan", "{tmp}/s.toml"), "tasks.mine.labels: required for pair_classification",
         declared('labels = ["0", "1"]', "")),
    Case("plan-declared-metric-of-kind", ("plan", "{tmp}/s.toml"), "tasks.mine.metric: 'squad' is not a metric",
         declared('labels = ["0", "1"]', 'labels = ["0", "1"]\nmetric = "squad"')),
    Case("plan-declared-f1-macro-of-kind", ("plan", "{tmp}/s.toml"), "tasks.mine.metric: 'f1_macro' is not a metric "
         "of multiple_choice tasks; expected one of accuracy (f1_macro is for single_classification and "
         "pair_classification tasks)",
         declared('kind = "pair_classification"\nformat = "tsv"\npath = "d/{split}-{lang}.tsv"\n'
                  'columns = { text_a = 0, text_b = 1, label = 2 }\nlabels = ["0", "1"]',
                  'kind = "multiple_choice"\nformat = "tsv"\npath = "d/{split}-{lang}.tsv"\n'
                  'columns = { question = 0, choices = [1, 2], label = 3 }\nmetric = "f1_macro"')),
    Case("plan-declared-bad-language", ("plan", "{tmp}/s.toml"), "tasks.mine.langs[1]: unknown language 'xx'",
         declared('langs = ["en", "de"]', 'langs = ["en", "xx"]')),
    Case("plan-declared-no-split-placeholder", ("plan", "{tmp}/s.toml"), "tasks.mine.path: 'd/train-{lang}.tsv' "
         "needs a {split} placeholder", declared("{split}-{lang}", "train-{lang}")),
    Case("plan-declared-name-clash", ("plan", "{tmp}/s.toml"), "tasks.pawsx: the name is taken by the registered "
         "task pawsx (PAWS-X)", declared("[tasks.mine]", "[tasks.pawsx]")),
    Case("run-declared-missing-file", ("run", "{tmp}/s.toml"), "tried: {tmp}/d/dev-de.tsv",
         declared(files={"d/dev-de.tsv": None}), absent=("out",)),
    Case("run-declared-malformed-row", ("run", "{tmp}/s.toml"), "{tmp}/d/dev-de.tsv:2: expected at least 3 "
         "tab-separated fields, found 2", declared(files={"d/dev-de.tsv": "g\th\t0\nonly\ttwo\n"}), absent=("out",)),
    Case("run-declared-unknown-label", ("run", "{tmp}/s.toml"), "{tmp}/d/train-en.tsv:2: unknown label 'yes'",
         declared(files={"d/train-en.tsv": "a\tb\t1\nc\td\tyes\n"}), absent=("out",)),
    # ------------------------------------------------------------ stats contrast: no answer is one line
    Case("stats-header-only", ("stats", "contrast", "{tmp}/s.csv"), "s.csv: no scores: the file has a header and no rows",
         {"s.csv": "task,lang,condition,seed,score\n"}),
    Case("stats-language-case", ("stats", "contrast", "{tmp}/s.csv"), "language 'DE' (a, line 2) and 'de' (b, line 4) "
         "differ only in case", {"s.csv": "lang,condition,seed,score\nDE,a,1,70\nDE,a,2,71\nde,b,1,69\nde,b,2,70\n"}),
    Case("stats-one-condition", ("stats", "contrast", "{tmp}/s.csv"), "only one condition: a; a contrast needs two",
         {"s.csv": "condition,seed,score\na,1,70\na,2,71\n"}),
    Case("stats-disjoint-seeds", ("stats", "contrast", "{tmp}/s.csv"), "no seed is shared by a (seeds 1-3) and b "
         "(seeds 4-6)", {"s.csv": "condition,seed,score\na,1,70\na,2,71\na,3,72\nb,4,69\nb,5,70\nb,6,68\n"}),
    Case("stats-no-shared-language", ("stats", "contrast", "{tmp}/s.csv", "--contrast", "a - b"),
         "a - b: dropped, no language is shared by a (en) and b (de)",
         {"s.csv": "lang,condition,seed,score\nen,a,1,70\nen,a,2,71\nde,b,1,69\nde,b,2,70\n"}),
    Case("stats-two-scales", ("stats", "contrast", "{tmp}/s.csv"), "scores on two scales: a's lie in 0-1",
         {"s.csv": "condition,seed,score\na,1,0.70\na,2,0.71\na,3,0.72\nb,1,69\nb,2,70\nb,3,70.5\n"}),
    Case("stats-unknown-condition", ("stats", "contrast", "{tmp}/s.csv", "--contrast", "a - z"), "no condition 'z'",
         {"s.csv": "condition,seed,score\na,1,70\na,2,71\nb,1,69\nb,2,70\n"}),
    Case("stats-missing-column", ("stats", "contrast", "{tmp}/s.csv"), "s.csv:1: missing column condition",
         {"s.csv": "model,seed,score\na,1,70\n"}),
    Case("stats-columns-unknown", ("stats", "contrast", "{tmp}/s.csv", "--columns", "condition=system"),
         "--columns condition=system: no such column", {"s.csv": "model,seed,score\na,1,70\n"}),
    Case("stats-semicolon-without-sep", ("stats", "contrast", "{tmp}/s.csv"), "--sep sets it",
         {"s.csv": "condition;seed;score\na;1;70\n"}),
    # ------------------------------------------------------------ usage
    Case("usage-unknown-command", ("frobnicate",), "No such command 'frobnicate'", {}),
    Case("usage-unknown-option", ("plan", "--bogus"), "No such option", {}),
    Case("usage-score-missing-lang", ("score", "--task", "xnli"), "Missing option '--lang'", {}),
    Case("usage-model-prepare-unknown", ("model", "prepare", "not-a-model"), "not-a-model", {}),
]
