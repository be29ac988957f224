"""The paper's published figures, in one place, keyed by our names for them."""

from __future__ import annotations

#: Camera views of the paper's label-quality experiment: our view name -> the paper's name.
PAPER_VIEW_NAMES = {"paper": "view 1", "side": "view 2", "corner": "view 3"}
#: The paper's mean label error (cm) at the 10 surveyed points, per camera view (our view names).
PAPER_SURVEY_CM = {"paper": 17.44, "side": 12.13, "corner": 11.82}

#: The paper's Table II: model -> (mean error m, std m, acc6, acc4, acc2), accuracies as fractions.
PAPER_TABLE2 = {
    "cnn": (0.8745, 0.3177, 0.3199, 0.4203, 0.6284),
    "resnet18": (0.5830, 0.3475, 0.5550, 0.6254, 0.8298),
    "rnn": (0.8705, 0.2802, 0.5329, 0.6192, 0.8447),
    "gru": (0.9413, 0.3217, 0.4941, 0.5600, 0.7356),
    "lstm": (0.8643, 0.2475, 0.5350, 0.6215, 0.7563),
    "csibert": (0.6991, 0.3063, 0.6007, 0.6193, 0.7563),
}
