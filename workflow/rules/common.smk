# Helpers shared by the rules: session names and their settings from the config.


def walk_sessions():
    """Walking sessions of the benchmark: one per subject, in the configured view."""
    scene = Path(config["scene"]).stem
    return {f"{scene}_walk_{s}": s for s in config["subjects"]}


def survey_sessions():
    """Surveyed-points sessions: the survey subjects in turn, one session per view."""
    scene = Path(config["scene"]).stem
    return {f"{scene}_survey_{v}": v for v in config["survey"]["views"]}


RAW_FILES = [
    "session.yaml",
    "csi.csv",
    "video.mp4",
    "frames.csv",
    "calibration.yaml",
    "truth/frames.parquet",
    "truth/pings.parquet",
]


def raw_outputs(session_dir):
    return [f"{session_dir}/{name}" for name in RAW_FILES]


def all_sessions():
    return sorted(walk_sessions()) + sorted(survey_sessions())


def detector_training_sessions():
    """Sessions of the detector-training people, one per (subject, view)."""
    scene = Path(config["scene"]).stem
    dt = config["detector_training"]
    return {f"{scene}_dettrain_{s}_{v}": (s, v) for s in dt["subjects"] for v in dt["views"]}


def weights_input(wildcards=None):
    """The YOLO weights a detect job needs (the trained file when it is the pipeline's own)."""
    labels = config["labels"]
    return [labels["weights"]] if labels["detector"] == "yolo" else []
