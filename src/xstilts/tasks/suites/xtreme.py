"""XTREME (Hu et al. 2020): nine target tasks in four groups; its score is the mean of the nine."""

from xstilts.tasks.suites import Suite

SUITE = Suite(
    name="xtreme", display_name="XTREME",
    groups=(("classification", "Classification"), ("structured_prediction", "Structured prediction"),
            ("question_answering", "Question answering"), ("retrieval", "Retrieval")),
    description="XNLI, PAWS-X, UD-POS, PAN-X, XQuAD, MLQA, TyDiQA-GoldP, BUCC and Tatoeba.",
)
