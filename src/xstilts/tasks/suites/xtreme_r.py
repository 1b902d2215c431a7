"""XTREME-R (Ruder et al. 2021, arXiv 2104.07412): ten target tasks in four groups.

As google-research/xtreme's evaluate.py (``--xtreme_version xtreme-r``) and the paper define it:
XTREME's rules unchanged (a task's score is the mean over its XTREME-R languages of its metric,
(mean F1 + mean EM) / 2 for QA; the XTREME-R score is the unweighted mean of the ten task scores,
defined only when all ten are scored; a group's score is the mean of its tasks'). Against XTREME:
PAWS-X and BUCC are gone; XCOPA, LAReQA and Mewsli-X are new; UD-POS, PAN-X, Tatoeba and XQuAD
have more languages (each task file's XTREME-R membership lists them).

Groups are the paper's table (Classification: XNLI, XCOPA; Structured prediction: UD-POS,
WikiANN-NER; QA: XQuAD, MLQA, TyDiQA-GoldP; Retrieval: Mewsli-X, LAReQA, Tatoeba). evaluate.py's
own retrieval group lists only Tatoeba and Mewsli-X (LAReQA has no leaderboard label files there;
it is scored by its own script) and it lists XCOPA once more as "multi_choice", a file-format
group: neither changes the suite score, which averages the ten tasks.
"""

from xstilts.tasks.suites import Suite

SUITE = Suite(
    name="xtreme-r", display_name="XTREME-R",
    groups=(("classification", "Classification"), ("structured_prediction", "Structured prediction"),
            ("question_answering", "Question answering"), ("retrieval", "Retrieval")),
    description="XNLI, XCOPA, UD-POS, WikiANN-NER, XQuAD, MLQA, TyDiQA-GoldP, Mewsli-X, LAReQA and Tatoeba.",
    score_note="Groups as the XTREME-R paper's table (Retrieval: Mewsli-X, LAReQA and Tatoeba); the XTREME-R score "
               "is the unweighted mean of the ten task scores. google-research/xtreme's evaluate.py cannot compute "
               "this overall score (its LAReQA language list is empty: with all ten task folders it stops with "
               "KeyError 'avg_metric'; its retrieval group is Tatoeba and Mewsli-X only).",
)
