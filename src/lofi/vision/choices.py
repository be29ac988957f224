"""Named choices of the vision library, importable without numpy or OpenCV (the CLI's parser uses them)."""

#: Person detectors of :func:`lofi.vision.detectors.make_detector`.
DETECTORS = ("yolo", "hog", "haar", "bgsub")
#: Foot-point models of :func:`lofi.vision.localize.localize`.
FOOT_POINTS = ("bottom_middle", "upright")
