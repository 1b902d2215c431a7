"""Content hashes and the on-disk cache of file facts."""

from __future__ import annotations

import hashlib
import os

from xstilts.study.file_cache import FileFacts
from xstilts.study.hashing import ID_LENGTH, files_sha256, stable_hash


def test_stable_hash_ignores_key_order_but_not_values():
    assert stable_hash({"a": 1, "b": [1, 2]}) == stable_hash({"b": [1, 2], "a": 1})
    assert stable_hash({"a": 1, "b": [1, 2]}) != stable_hash({"a": 1, "b": [2, 1]})
    assert len(stable_hash({})) == ID_LENGTH


def test_file_hashes_are_the_sha256_of_the_bytes_and_cached_on_disk(tmp_path):
    data = tmp_path / "dev-de.tsv"
    data.write_bytes(b"a\tb\tneutral\n")
    cache = FileFacts(tmp_path / "facts.json")
    assert files_sha256([data], cache) == hashlib.sha256(b"a\tb\tneutral\n").hexdigest()
    cache.save()
    calls = []
    reloaded = FileFacts(tmp_path / "facts.json")
    assert reloaded.get("sha256", [data], "", lambda: calls.append(1)) == hashlib.sha256(b"a\tb\tneutral\n").hexdigest()
    assert calls == []


def test_an_edited_file_is_hashed_again_even_with_the_same_size(tmp_path):
    data = tmp_path / "dev-de.tsv"
    data.write_bytes(b"aaaa\n")
    cache = FileFacts(tmp_path / "facts.json")
    first = files_sha256([data], cache)
    data.write_bytes(b"bbbb\n")
    stat = data.stat()
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert files_sha256([data], cache) == hashlib.sha256(b"bbbb\n").hexdigest() != first


def test_several_files_hash_in_order(tmp_path):
    one, two = tmp_path / "1.conllu", tmp_path / "2.conllu"
    one.write_bytes(b"one")
    two.write_bytes(b"two")
    cache = FileFacts(tmp_path / "facts.json")
    assert files_sha256([one, two], cache) != files_sha256([two, one], cache)


def test_a_damaged_cache_is_rebuilt(tmp_path):
    (tmp_path / "facts.json").write_text("{not json")
    data = tmp_path / "x.tsv"
    data.write_bytes(b"x")
    cache = FileFacts(tmp_path / "facts.json")
    assert files_sha256([data], cache) == hashlib.sha256(b"x").hexdigest()
    cache.save()
    assert FileFacts(tmp_path / "facts.json").get("sha256", [data], "", lambda: "recomputed") != "recomputed"


def test_model_identity_is_content_not_path(tmp_path):
    from xstilts.study.file_cache import FileFacts
    from xstilts.study.hashing import hub_revision, model_identity

    facts = FileFacts(tmp_path / "facts.json")
    for name in ("a", "b"):
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "config.json").write_text("{}")
        (tmp_path / name / "sub" / "weights.bin").write_bytes(b"\x00\x01")
    first, second = model_identity(str(tmp_path / "a"), facts), model_identity(str(tmp_path / "b"), facts)
    assert first == second and str(tmp_path) not in str(first)
    (tmp_path / "b" / "sub" / "weights.bin").write_bytes(b"\x00\x02")
    assert model_identity(str(tmp_path / "b"), FileFacts(tmp_path / "other.json")) != first
    # A hub id never downloaded here: its revision is unknown, and says so.
    assert model_identity("no-such-org/no-such-model", facts) == {"hub": "no-such-org/no-such-model",
                                                                 "revision": "unresolved"}
    assert hub_revision("no-such-org/no-such-model") == "unresolved"
