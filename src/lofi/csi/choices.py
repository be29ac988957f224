"""Named choices of the CSI library, importable without numpy or scipy (the CLI's parser uses them)."""

#: Gap-filling methods of :func:`lofi.csi.fill.fill_rows` (csibert needs a CSI-BERT checkpoint).
FILL_METHODS = ("linear", "spline", "none", "csibert")
