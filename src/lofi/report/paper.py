"""The paper's published figures, in one place, keyed by our names for them."""

from __future__ import annotations

#: Camera views of the paper's label-quality experiment: our view name -> the paper's name.
PAPER_VIEW_NAMES = {"paper": "view 1", "side": "view 2", "corner": "view 3"}
#: The paper's mean label error (cm) at the 10 surveyed points, per camera view (our view names).
PAPER_SURVEY_CM = {"paper": 17.44, "side": 12.13, "corner": 11.82}
