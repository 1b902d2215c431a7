"""Version stamps recorded with every result (a light module: importing it pulls in no torch)."""

from xstilts import __version__

# Bump when a change alters the weights a training stage produces: it is part of every node's
# identity, so a bump makes a study retrain instead of reusing stale models.
TRAINING_SEMANTICS_VERSION = "2"  # 2: fresh target heads, QA stride as a step, HellaSwag ctx_b, UD preprocessing


def code_version() -> str:
    return f"{__version__}+training.{TRAINING_SEMANTICS_VERSION}"
