"""Names that come from data or settings (session ids, data-set and run names) and become folder names.

Such a name must be one plain path component: not empty, no path separator, not ``.`` or
``..``, no control character. Anything else could make a command write outside the folder
it was given (``id: ../../escape``).
"""

from __future__ import annotations

#: Longest name accepted: file systems allow 255 bytes per component; leave room for suffixes.
MAX_NAME_CHARS = 200


class UnsafeNameError(ValueError):
    """A name from data or settings is not a single plain path component."""


def path_component_problem(text: str) -> str | None:
    """Why ``text`` cannot be a folder name, or None when it can."""
    if not text.strip():
        return "it is empty"
    if "/" in text or "\\" in text:
        return "it holds a path separator"
    if text in (".", ".."):
        return "it is . or .."
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return "it holds a control character"
    if len(text) > MAX_NAME_CHARS:
        return f"it is longer than {MAX_NAME_CHARS} characters"
    return None


def check_name(text: object, what: str) -> str:
    """``text`` as a name that is one plain path component; ``what`` says where it came from.

    Raises:
        UnsafeNameError: (a ValueError) naming ``what``, the value and the reason.
    """
    if not isinstance(text, str):
        raise UnsafeNameError(f"{what}: expected a name (text), got {text!r}")
    problem = path_component_problem(text)
    if problem:
        raise UnsafeNameError(f"{what}: {text!r} cannot be a folder name: {problem}")
    return text
