"""Write the files of the task that examples/declared_task_small.toml declares ([tasks.paws_mine]).

A researcher's own paraphrase data, here cut from the shared PAWS-X dev sets (never committed):
train-en.tsv = English dev rows [:N], dev-en.tsv / dev-de.tsv = rows [N:N+M] of English / German
dev, as sentence1<TAB>sentence2<TAB>label. Run it once before planning the example:

    python examples/make_declared_task_data.py            # -> examples/declared-data/
    python examples/make_declared_task_data.py --out DIR --train-rows 64 --dev-rows 16
"""

from __future__ import annotations

import argparse
from pathlib import Path

from xstilts.files import write_text_atomic
from xstilts.paths import default_data_dir

HERE = Path(__file__).resolve().parent


def pawsx_rows(data_dir: Path, lang: str) -> list[str]:
    path = data_dir / "pawsx" / f"dev-{lang}.tsv"
    if not path.is_file():
        raise SystemExit(f"{path}: no such file (set XSTILTS_DATA or run `xstilts data fetch pawsx --to DIR`)")
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_declared_data(out: Path, data_dir: Path, train_rows: int = 1000, dev_rows: int = 200) -> list[Path]:
    """The declared task's files under ``out``; disjoint rows for training and evaluation."""
    en, de = pawsx_rows(data_dir, "en"), pawsx_rows(data_dir, "de")
    files = {"train-en.tsv": en[:train_rows], "dev-en.tsv": en[train_rows:train_rows + dev_rows],
             "dev-de.tsv": de[train_rows:train_rows + dev_rows]}
    written = []
    for name, rows in files.items():
        write_text_atomic(out / name, "".join(f"{row}\n" for row in rows))
        written.append(out / name)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="the XTREME data (default: shared)")
    parser.add_argument("--out", type=Path, default=HERE / "declared-data")
    parser.add_argument("--train-rows", type=int, default=1000)
    parser.add_argument("--dev-rows", type=int, default=200)
    args = parser.parse_args()
    if args.data is None:
        raise SystemExit("no XTREME data found: pass --data DIR or set XSTILTS_DATA")
    for path in write_declared_data(args.out, args.data, args.train_rows, args.dev_rows):
        print(path)


if __name__ == "__main__":
    main()
