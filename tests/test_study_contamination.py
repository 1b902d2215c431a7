"""The contamination guard on footprints: parallel sets, slices, derived sets, unknown counts."""

from __future__ import annotations

from xstilts.study.contamination import SELECTED_ON, TRAINED_ON, UsedData, contaminated_cells, footprints
from xstilts.study.data_facts import DataFacts, selected_rows
from xstilts.study.hashing import MISSING
from xstilts.tasks.selection import DataSelection


def facts(rows: int | None, sha: str = "0" * 64) -> DataFacts:
    if rows is None:
        return DataFacts((), MISSING, None, None, missing="not on disk")
    return DataFacts((), sha, rows, rows)


def flags(train: DataSelection, evaluated: dict[str, DataSelection], rows: int | None = 2490,
          role: str = TRAINED_ON) -> dict[str, str]:
    # Distinct content hashes per file: only the task-level footprints can match.
    used = [UsedData(role, train, footprints(train, facts(rows, sha="a" * 64)), "stage s")]
    prints = {lang: footprints(sel, facts(rows, sha=f"{lang}" * 32)) for lang, sel in evaluated.items()}
    return contaminated_cells(prints, used)


def xnli(lang: str, slice_spec: str | None = None, split: str = "dev") -> DataSelection:
    return DataSelection("xnli", lang, split, slice_spec)


def test_training_on_part_of_a_parallel_set_contaminates_those_rows_in_every_language():
    result = flags(xnli("de", "[:1245]"), {lang: xnli(lang) for lang in ("en", "de", "sw")})
    assert set(result) == {"en", "de", "sw"}
    assert result["sw"] == "trained on xnli:dev-de[:1245] in stage s: rows 0-1244 of xnli dev (all languages)"


def test_a_disjoint_slice_of_a_parallel_set_is_clean():
    assert flags(xnli("de", "[:1245]"), {lang: xnli(lang, "[1245:]") for lang in ("en", "de", "sw")}) == {}


def test_partial_overlap_names_the_shared_rows():
    result = flags(xnli("de", "[:1245]"), {"fr": xnli("fr", "[1200:1300]")})
    assert result == {"fr": "trained on xnli:dev-de[:1245] in stage s: rows 1200-1244 of xnli dev (all languages)"}


def test_percent_slices_resolve_with_the_real_row_count():
    # 50% of 2,490 rows = 1,245: the halves are disjoint.
    assert flags(xnli("de", "[:50%]"), {"en": xnli("en", "[50%:]")}) == {}
    assert flags(xnli("de", "[:51%]"), {"en": xnli("en", "[50%:]")}) != {}


def test_another_split_is_clean():
    assert flags(xnli("de", split="train"), {"de": xnli("de", split="test")}) == {}


def test_a_monolingual_set_only_contaminates_its_own_language():
    train = DataSelection("panx", "de", "dev", "[:100]")
    result = flags(train, {"de": DataSelection("panx", "de", "dev", "[50:]"),
                           "en": DataSelection("panx", "en", "dev")}, rows=10_000)
    assert result == {"de": "trained on panx:dev-de[:100] in stage s: rows 50-99 of panx dev-de"}


def test_mlqa_rows_only_align_within_a_language():
    train = DataSelection("mlqa", "de", "dev", "[:10]")
    assert flags(train, {"de": DataSelection("mlqa", "de", "dev", "[100:]")}, rows=512) == {}
    result = flags(train, {"en": DataSelection("mlqa", "en", "dev", "[100:]")}, rows=512)
    assert result == {"en": "trained on mlqa:dev-de[:10] in stage s: mlqa dev (all languages) "
                            "(rows cannot be matched, so any use counts)"}


def test_squad_dev_contaminates_xquad_which_is_translated_from_it():
    for squad in (DataSelection("squad_v1", "en", "dev", "[:100]"), DataSelection("squad_v2", "en", "dev")):
        result = flags(squad, {"de": DataSelection("xquad", "de", "test")}, rows=1190)
        assert result["de"].endswith("SQuAD v1.1 dev (rows cannot be matched, so any use counts)")
    assert flags(DataSelection("squad_v1", "en", "train"), {"de": DataSelection("xquad", "de", "test")}) == {}


def test_xnli_train_is_mnli_train():
    result = flags(DataSelection("mnli", "en", "train", "[:1000]"), {"de": xnli("de", "[500:]", split="train")})
    assert result == {"de": "trained on mnli:train-en[:1000] in stage s: rows 500-999 of MNLI train"}


def test_explicit_files_match_by_content():
    train = DataSelection("xnli", "de", "train", "[:10]", files=("/elsewhere/copy-of-dev-de.tsv",))
    evaluated = xnli("de")
    same = flags_with_hashes(train, "b" * 64, evaluated, "b" * 64)
    assert same == {"de": "trained on xnli:/elsewhere/copy-of-dev-de.tsv[:10] in stage s: rows 0-9 of files "
                          "bbbbbbbbbbbb (de)"}
    assert flags_with_hashes(train, "b" * 64, evaluated, "c" * 64) == {}


def flags_with_hashes(train: DataSelection, train_sha: str, evaluated: DataSelection, eval_sha: str) -> dict[str, str]:
    used = [UsedData(TRAINED_ON, train, footprints(train, facts(2490, train_sha)), "stage s")]
    return contaminated_cells({evaluated.lang: footprints(evaluated, facts(2490, eval_sha))}, used)


def test_absolute_slices_work_without_a_row_count_and_others_count_as_overlap():
    assert flags(xnli("de", "[:1245]"), {"en": xnli("en", "[1245:]")}, rows=None) == {}
    result = flags(xnli("de", "[:1245]"), {"en": xnli("en", "[50%:]")}, rows=None)
    assert "rows cannot be matched" in result["en"]
    assert selected_rows("[1245:]", None).start == 1245 and selected_rows("[-5:]", None) is None


def test_a_limit_on_training_examples_narrows_the_rows():
    train = xnli("de")
    used = [UsedData(TRAINED_ON, train, footprints(train, facts(2490), limit=100), "stage s")]
    evaluated = {"en": footprints(xnli("en", "[100:]"), facts(2490, sha="e" * 64))}
    assert contaminated_cells(evaluated, used) == {}


def test_the_role_appears_in_the_reason():
    result = flags(xnli("en", "[:500]"), {"de": xnli("de")}, role=SELECTED_ON)
    assert result["de"].startswith("checkpoint selected on xnli:dev-en[:500] in stage s")
