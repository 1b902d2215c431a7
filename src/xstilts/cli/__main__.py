"""`python -m xstilts.cli ...` (e.g. under `accelerate launch -m xstilts.cli train ...`)."""

from xstilts.cli import main

if __name__ == "__main__":
    main()
