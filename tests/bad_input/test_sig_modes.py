"""``--keep-sig-modes``: auto, dominant, all or a list of sig_mode values; anything else is a usage error."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("value", ["7x", "0;1", "", "hybrid", "4"])
def test_bad_keep_sig_modes_is_a_usage_error(lofi, tmp_path, value):
    lofi("csi", tmp_path / "S", "--keep-sig-modes", value).refused(
        "--keep-sig-modes", repr(value), "auto, dominant, all", "e.g. 0,1"
    )
    assert list(tmp_path.iterdir()) == []
