"""Score XTREME prediction files against gold data, like xtreme's evaluate.py.

One file: ``score_file(task, lang, gold, pred)``. The gold file is the task's own data file (read
with the task's reader: XNLI/PAWS-X TSV, PAN-X TSV, UD CoNLL-U, SQuAD-format JSON), except for the
retrieval tasks, whose gold is either XTREME's label file (BUCC: ``source id<TAB>target id``
lines; Tatoeba: one integer per line) or the task's data file (BUCC ``LANG-en.SPLIT.LANG`` with its
``.gold`` twin; Tatoeba ``tatoeba.LLL-eng.LLL``, line-aligned).

A folder: ``score_folder(pred_dir, gold_dir)`` reads the layout xtreme's evaluate.py reads,
generalised to the split::

    PRED_DIR/{task}/{split}-{lang}.json   QA tasks (xquad, mlqa, tydiqa)
    PRED_DIR/{task}/{split}-{lang}.tsv    every other task

(XTREME: ``test-{lang}``). The gold folder may also be XTREME's ``--label_folder``
(``GOLD_DIR/{task}/{split}-{lang}.tsv|json``: one label per line for XNLI/PAWS-X, one tag per line
with blank lines between sentences for POS/NER, SQuAD JSON for QA, id pairs for BUCC, indices
for Tatoeba); such a file is used when present. For each official language of each task folder it scores the file
against the task's ``{split}`` data for that language under ``gold_dir``, found through the task's
file layouts (the XTREME download layout or the original releases), then aggregates
(``xstilts.scoring.aggregate``). Prediction formats: ``xstilts.metrics.predictions``.
"""

from xstilts.scoring.folder import label_file, score_folder
from xstilts.scoring.score import (
    example_units, prediction_path, score_examples, score_file, score_predictions, write_predictions,
)

__all__ = ["example_units", "label_file", "prediction_path", "score_examples", "score_file", "score_folder",
           "score_predictions", "write_predictions"]
