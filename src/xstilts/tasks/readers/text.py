"""Plain text, one sentence or paragraph per line (masked-LM corpora)."""

from __future__ import annotations

from pathlib import Path

from xstilts.tasks.readers.common import numbered_lines, reader
from xstilts.tasks.types import TextExample


@reader()
def text_lines(path: Path, lang: str) -> list[TextExample]:
    """Every non-blank line, stripped; the guid names the file and line."""
    return [TextExample(guid=f"{path.name}:{number}", text=line.strip())
            for number, line in numbered_lines(path) if line.strip()]
