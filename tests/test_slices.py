import pytest

from xstilts.errors import ConfigError
from xstilts.tasks.slices import apply_slice, slice_range


def test_slices_like_datasets():
    items = list(range(10))
    assert apply_slice(items, None) == items
    assert apply_slice(items, "[:3]") == [0, 1, 2]
    assert apply_slice(items, "[50%:]") == [5, 6, 7, 8, 9]
    assert apply_slice(items, "[-2:]") == [8, 9]
    assert apply_slice(items, "[2:4]") == [2, 3]
    assert slice_range("[:50%]", 2490) == range(0, 1245)


def test_bad_slice_is_a_config_error():
    with pytest.raises(ConfigError, match="expected a form like"):
        slice_range("first half", 10)
