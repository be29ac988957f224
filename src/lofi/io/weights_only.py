"""Files of tensors and plain data read with ``torch.load(weights_only=True)``: no code runs.

Both of the project's weight files (the CSI-BERT recovery file, a run's ``model.pt``) are a
dict naming its ``format``; :func:`load_format` reads one and checks that name.
"""

from __future__ import annotations

from pathlib import Path

import torch


def load_format(path: Path, expected: str, error: type[ValueError], what: str, remedy: str) -> dict:
    """The dict in ``path`` whose ``format`` is ``expected``.

    Args:
        path: the file.
        expected: the format name it must carry.
        error: the ValueError subclass raised.
        what: what the file should be, for messages (``"run-model file"``).
        remedy: how to make a good one, ending the message.

    Raises:
        error: the file is damaged, holds code or other objects, or is of another format.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # damaged bytes surface as IndexError, KeyError, struct.error ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise error(
            f"{path}: not a {what} readable without running code (damaged, truncated, or not plain "
            f"tensors and data: {first[:200]}); {remedy}"
        ) from err
    found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
    if found != expected:
        name = (
            "it names no format: a Lightning .ckpt or another file?" if found is None else f"format {found!r}"
        )
        raise error(f"{path}: not a {what} of this version ({name}; expected {expected!r}); {remedy}")
    return payload
