# Helpers shared by the rules, and the session tables built from the config. Rules use only
# these (no lambdas, no computing in a rule): every rule calls one `lofi` command.

from lofi.stages.scenes import scene_path

RAW = config["raw_dir"]
#: The scene file: a packaged scene (by name) or the configured path.
SCENE_FILE = str(scene_path(config["scene"]))
INTERIM = "data/interim"
DETECTOR_DIR = "data/detector"
SCENE_NAME = Path(config["scene"]).stem
LABELS = config["labels"]
CSI = config["csi"]
ALIGN = config["align"]
DATASET = config["dataset"]
DATASET_DIR = f"data/processed/{DATASET['name']}"
FOOT_OFFSET_FILE = f"{DETECTOR_DIR}/foot_offset.json"
FIT_OFFSET = LABELS["foot_offset_m"] == "fit"
REFINE = "--refine-feet" if LABELS["refine_feet"] else "--no-refine-feet"

RAW_FILES = [
    "session.yaml",
    "csi.csv",
    "video.mp4",
    "frames.csv",
    "calibration.yaml",
    "truth/frames.parquet",
    "truth/pings.parquet",
]

#: Walking sessions of the benchmark: one per subject, in the configured view.
WALKS = {f"{SCENE_NAME}_walk_{s}": s for s in config["subjects"]}
#: Surveyed-points sessions: the survey subjects in turn, one session per view.
SURVEYS = {f"{SCENE_NAME}_survey_{v}": v for v in config["survey"]["views"]}
#: Sessions of the detector-training people, one per (subject, view).
DETTRAIN = {
    f"{SCENE_NAME}_dettrain_{s}_{v}": (s, v)
    for s in config["detector_training"]["subjects"]
    for v in config["detector_training"]["views"]
}


def raw_outputs(session_dir):
    """The files of a raw session folder."""
    return [f"{session_dir}/{name}" for name in RAW_FILES]


def all_sessions():
    """The benchmark's walks and the surveyed-points sessions."""
    return sorted(WALKS) + sorted(SURVEYS)


def session_dir(wildcards):
    """The raw folder of the ``{session}`` wildcard."""
    return f"{RAW}/{wildcards.session}"


def walk_subject(wildcards):
    return WALKS[wildcards.session]


def survey_view(wildcards):
    return SURVEYS[wildcards.session]


def dettrain_subject(wildcards):
    return DETTRAIN[wildcards.session][0]


def dettrain_view(wildcards):
    return DETTRAIN[wildcards.session][1]


def interim_files(sessions, name):
    """``data/interim/<session>/<name>`` of each session, in order."""
    return [f"{INTERIM}/{s}/{name}" for s in sorted(sessions)]


def raw_files(sessions, name):
    """``<raw>/<session>/<name>`` of each session (DVC-tracked raw inputs: ``ancient``), in order."""
    return [ancient(f"{RAW}/{s}/{name}") for s in sorted(sessions)]


def folders(sessions, root=None):
    """Space-separated session folders under ``root`` (default: the raw folder), in order."""
    return " ".join(f"{root or RAW}/{s}" for s in sorted(sessions))


def options(flag, sessions, root=None):
    """``flag folder`` for each session (for commands that take a repeated option)."""
    return " ".join(f"{flag} {root or RAW}/{s}" for s in sorted(sessions))


def weights_input(wildcards=None):
    """The YOLO weights a detect job needs (none for the OpenCV detectors)."""
    return [LABELS["weights"]] if LABELS["detector"] == "yolo" else []


def study_weights_input(wildcards=None):
    """The YOLO weights the label-quality study needs (when it runs the YOLO detector)."""
    return [LABELS["weights"]] if "yolo" in config["label_quality"]["detectors"] else []


def foot_offset_input(wildcards=None):
    """The fitted foot-point correction, when ``labels.foot_offset_m`` is ``fit``."""
    return [FOOT_OFFSET_FILE] if FIT_OFFSET else []


def foot_offset_option(wildcards=None):
    """``--foot-offset-from FILE`` (fitted) or ``--foot-offset-m VALUE`` (configured)."""
    if FIT_OFFSET:
        return f"--foot-offset-from {FOOT_OFFSET_FILE}"
    return f"--foot-offset-m {LABELS['foot_offset_m']}"


def tolerance_option(wildcards=None):
    """``--tolerance-s VALUE`` when the config sets one (else one camera period)."""
    tolerance = ALIGN["tolerance_s"]
    return "" if tolerance is None else f"--tolerance-s {tolerance}"
