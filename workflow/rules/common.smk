# Helpers shared by the rules, and the session tables built from the config. Rules use only
# these (no lambdas, no computing in a rule): every rule calls one `lofi` command.

import hashlib
import json
import os
import re

from lofi.models.catalog import BASELINES, NETWORKS
from lofi.stages.scenes import scene_path

#: Where this configuration writes: every scale has its own root (conf/pipeline/*.yaml), so a
#: quick run never touches the default's data or committed results.
ROOT = config["root"]
#: Every MLflow run of this configuration is tagged with its hash and root (lofi.train.tracking
#: PIPELINE_TAGS): set in the jobs' environment, not as params, so editing the config reruns no job.
os.environ["LOFI_PIPELINE_CONFIG_SHA256"] = hashlib.sha256(
    json.dumps(config, sort_keys=True, default=str).encode()
).hexdigest()[:16]
os.environ["LOFI_PIPELINE_ROOT"] = ROOT


envvars:
    "LOFI_PIPELINE_CONFIG_SHA256",
    "LOFI_PIPELINE_ROOT",


def at_root(path):
    """``path`` under the configuration's root (absolute paths are kept)."""
    return str(path) if ROOT in (".", "") or Path(path).is_absolute() else f"{ROOT}/{path}"


RAW = at_root(config["raw_dir"])
#: The scene file: a packaged scene (by name) or the configured path.
SCENE_FILE = str(scene_path(config["scene"]))
INTERIM = at_root("data/interim")
DETECTOR_DIR = at_root("data/detector")
PROCESSED = at_root("data/processed")
RESULTS = at_root("results")
LOGS = f"{RESULTS}/logs"
#: Snakemake benchmark files: wall time (s), CPU time (s) and peak memory of every job.
BENCHMARKS = f"{RESULTS}/benchmarks"
SCENE_NAME = Path(config["scene"]).stem
LABELS = {**config["labels"], "weights": at_root(config["labels"]["weights"])}
CSI = config["csi"]
ALIGN = config["align"]
DATASET = config["dataset"]
DATASET_DIR = f"{PROCESSED}/{DATASET['name']}"
#: csi.fill: csibert pre-trains CSI-BERT on the linear-filled data set, fills the lost packets
#: again with it and trains every model on the second data set <name>_csibert.
REFILL = CSI["fill"] == "csibert"
BASE_FILL = "linear" if REFILL else CSI["fill"]
TRAIN_DATASET_DIR = f"{DATASET_DIR}_csibert" if REFILL else DATASET_DIR
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
#: Surveyed-point sessions of the data set (source: recorded): labelled at their position_m.
POINTS = {}
#: source: recorded: every session folder already in the raw folder (lofi record, or copied in);
#: nothing is simulated, there is no truth, no detector training and no label-quality study.
RECORDED = config["source"] == "recorded"


def recorded_sessions(raw):
    """``(walks, points)`` of the recorded sessions in ``raw``, each read with the project's reader
    (``lofi.io.session.read_session_meta``): a session with video.mp4 is labelled from video, one
    without at its session.yaml ``position_m``.

    A folder holding neither session.yaml nor csi.csv is skipped. Refused, naming the folder: csi.csv
    without session.yaml; ``status: recording`` (the recording was killed, or is still running) or
    ``failed``; neither video.mp4 nor a ``position_m`` (``position_m: null`` included).
    """
    from lofi.io.session import SESSION_CSI, SESSION_META, SESSION_VIDEO, read_session_meta

    walks, points = {}, {}
    for folder in sorted(p for p in Path(raw).glob("*") if p.is_dir()):
        if not (folder / SESSION_META).is_file():
            if (folder / SESSION_CSI).exists():
                raise ValueError(f"{folder}: holds {SESSION_CSI} but no {SESSION_META}; a recorded session "
                                 f"needs both (lofi record writes them): add it, or move the folder out of {raw}")
            continue
        meta = read_session_meta(folder)
        if meta.status in ("recording", "failed"):
            why = ("the recording did not end cleanly (lofi record was killed, or is still running)"
                   if meta.status == "recording" else "the recording failed")
            raise ValueError(f"{folder}: {SESSION_META} says status: {meta.status}: {why}; check it with "
                             f"`lofi inspect {folder}` and move the folder out of {raw} to run without it")
        if (folder / SESSION_VIDEO).is_file():
            walks[folder.name] = None
        elif meta.position_m is not None:
            points[folder.name] = None
        else:
            raise ValueError(f"{folder}: a recorded session needs {SESSION_VIDEO} (vision labels) or "
                             f"position_m: [x, y] in {SESSION_META} (a surveyed point)")
    if not walks and not points:
        raise ValueError(f"source: recorded, but {raw} holds no session folder (session.yaml): "
                         "record one with `lofi record`")
    return walks, points


if RECORDED:
    WALKS, POINTS = recorded_sessions(RAW)
    SURVEYS, DETTRAIN = {}, {}
    if WALKS and LABELS["detector"] == "yolo" and not Path(LABELS["weights"]).is_file():
        raise ValueError(f"source: recorded: labels.weights {LABELS['weights']} does not exist; the pipeline "
                         "trains a detector only on simulated people: give trained weights, or "
                         "labels.detector: bgsub | hog | haar")
    if WALKS and LABELS["foot_offset_m"] == "fit":
        raise ValueError("source: recorded: labels.foot_offset_m: fit needs the simulated detector-training "
                         "sessions; give the correction in m (e.g. 0.12)")
    if POINTS and REFILL:  # dataset_refill takes WALKS, align_refill needs positions.parquet
        raise ValueError("csi.fill: csibert is not supported for surveyed-point sessions yet "
                         f"({', '.join(sorted(POINTS))} in {RAW}): use csi.fill: linear (or spline), "
                         "or move them out of the raw folder")
#: The data set's sessions: walks (labels from video) and surveyed points.
DATA_SESSIONS = {**WALKS, **POINTS}


def alternatives(names):
    """A wildcard constraint that matches exactly one of ``names`` (each escaped, so that a ``.`` or
    ``+`` in a session or run name is literal), or only ``NONE`` when there are none."""
    return "|".join(map(re.escape, names)) or "NONE"


def output_folder(wildcards, output):
    """The folder of the rule's first output (``results/`` for ``results/table2.md``)."""
    return str(Path(output[0]).parent)


def dataset_parent(wildcards, output):
    """The folder the data set is made in (``data/processed`` for ``.../lab/frames.parquet``)."""
    return str(Path(output.frames).parent.parent)


def runs_folder(wildcards, input):
    """The folder of the run folders whose metrics the rule reads."""
    return str(Path(input.metrics[0]).parent.parent)


def raw_outputs(session_dir):
    """The files of a raw session folder."""
    return [f"{session_dir}/{name}" for name in RAW_FILES]


def all_sessions():
    """The benchmark's walks and the surveyed-points sessions (recorded: every session)."""
    return sorted(WALKS) + sorted(SURVEYS) + sorted(POINTS)


def simulated(sessions):
    """``sessions`` when the raw sessions are simulated, else none (recorded ones are inputs)."""
    return {} if RECORDED else sessions


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


# -- Table II runs --------------------------------------------------------------------------
# One entry per run folder: the Hydra overrides of its `python -m lofi.train` job and the
# pre-training run it starts from (CSI-BERT). Run names spell out what differs between runs.

TRAIN = config["train"]
for _key, _known in (("models", NETWORKS), ("baselines", BASELINES), ("truth_models", NETWORKS + BASELINES)):
    _unknown = sorted(set(TRAIN[_key]) - set(_known))
    if _unknown:
        raise ValueError(f"train.{_key}: {', '.join(_unknown)} not among {', '.join(_known)} (lofi.models.catalog)")
#: Training jobs on a GPU declare one (`--resources gpu=1` runs them one at a time).
GPUS_PER_JOB = 1 if TRAIN["trainer"] == "gpu" else 0


def _folds():
    """``(name suffix, overrides)`` per fold: one for the paper split, one per held-out subject (or
    surveyed point: cross_point needs train.folds, as the points are known only to the data set)."""
    if TRAIN["split"] == "paper":
        return [("", [])]
    if TRAIN["split"] == "cross_point" and not TRAIN["folds"]:
        raise ValueError("train.split: cross_point needs train.folds (the points to hold out, e.g. [0, 1, 2])")
    folds = TRAIN["folds"] or range(len(config["subjects"]))
    return [(f"-fold{k}", [f"data.fold={k}"]) for k in folds]


def _common_overrides(dataset=None, split=None):
    """What every run of this configuration shares: data set, split, trainer and epoch budget."""
    return [
        f"data.dir={dataset or TRAIN_DATASET_DIR}",
        f"data.split={split or TRAIN['split']}",
        f"trainer={TRAIN['trainer']}",
        f"trainer.max_epochs={TRAIN['max_epochs']}",
        f"callbacks.patience={TRAIN['patience']}",
        "trainer.enable_progress_bar=false",
        f"paper_protocol={str(TRAIN['paper_protocol']).lower()}",
        f"logger.experiment={TRAIN['experiment']}",
        *TRAIN["common_overrides"],
    ]


def _sweep_name(key, value):
    """``lr0.003`` for ``model.lr`` = 0.003: the last part of the key and the value."""
    return f"{key.split('.')[-1]}{value}"


def _network_runs(model, seed, fold, fold_overrides, pretrain_runs):
    runs = {}
    for norm in TRAIN["normalizations"]:
        name = f"{model}-{norm}-seed{seed}{fold}"
        overrides = [f"experiment=table2_{model}", f"data.normalize={norm}", f"seed={seed}", *fold_overrides]
        needs = None
        if model == "csibert":
            needs = f"csibert_pretrain-{norm}-seed{seed}{fold}"
            pretrain_runs[needs] = [f"experiment=csibert_pretrain", *overrides[1:], *_common_overrides(),
                                    *TRAIN["overrides"].get("csibert_pretrain", [])]
            recovery = f"{RESULTS}/runs/{needs}/csibert_recovery.pt"
            overrides += [f"model.pretrained={recovery}", f"recovery_eval.checkpoint={recovery}"]
        overrides += [*_common_overrides(), *TRAIN["overrides"].get(model, [])]
        runs[name] = (overrides, needs)
        for key, values in TRAIN["sweep"].get(model, {}).items():
            for value in values:
                runs[f"{name}-{_sweep_name(key, value)}"] = ([*overrides, f"{key}={value}"], needs)
    return runs


def _truth_runs(runs, seed, fold):
    """The truth-label rows: runs of ``train.truth_models`` trained on the true positions instead
    of the vision labels (synthetic data), evaluated as before: what the labels cost."""
    chosen = {}
    for model in TRAIN["truth_models"]:
        norm = "base" if model in BASELINES else TRAIN["truth_normalization"]
        base = f"{model}-{norm}-seed{seed}{fold}"
        if base not in runs:
            raise ValueError(f"train.truth_models: {model} has no run {base} to repeat on the truth "
                             "(add it to train.models or train.baselines, its normalisation to train.normalizations)")
        overrides, needs = runs[base]
        chosen[f"{base}-truth"] = ([*overrides, "data.label_source=truth"], needs)
    return chosen


def _all_runs():
    """``(training runs, pre-training runs)``: run name -> (overrides, pre-training run or None)."""
    runs, pretrain_runs = {}, {}
    for fold, fold_overrides in _folds():
        for seed in TRAIN["seeds"]:
            for model in TRAIN["models"]:
                runs |= _network_runs(model, seed, fold, fold_overrides, pretrain_runs)
            for model in TRAIN["baselines"]:
                overrides = [f"experiment=table2_{model}", f"seed={seed}", *fold_overrides,
                             *_common_overrides(), *TRAIN["overrides"].get(model, [])]
                runs[f"{model}-base-seed{seed}{fold}"] = (overrides, None)
            runs |= {} if RECORDED else _truth_runs(runs, seed, fold)  # no truth to train on
    if REFILL:  # the fill's own pre-training, on the linear set: first seed, per-window, paper split
        seed = TRAIN["seeds"][0]
        pretrain_runs[f"csibert_fill-window-seed{seed}"] = [
            "experiment=csibert_pretrain", "data.normalize=window", f"seed={seed}",
            *_common_overrides(DATASET_DIR, "paper"), *TRAIN["overrides"].get("csibert_pretrain", [])]
    return runs, {name: (overrides, None) for name, overrides in pretrain_runs.items()}


TRAIN_RUNS, PRETRAIN_RUNS = _all_runs()


def run_overrides(wildcards):
    """The Hydra overrides of run ``{run}``, quoted for the shell."""
    import shlex

    overrides, _ = TRAIN_RUNS.get(wildcards.run) or PRETRAIN_RUNS[wildcards.run]
    return " ".join(shlex.quote(o) for o in overrides)


def train_inputs(wildcards):
    """The data set, the MLflow store and (CSI-BERT) the pre-training's recovery file."""
    _, needs = TRAIN_RUNS[wildcards.run]
    inputs = {
        "init": f"{RESULTS}/runs/.mlflow_init",
        "frames": f"{TRAIN_DATASET_DIR}/frames.parquet",
        "manifest": f"{TRAIN_DATASET_DIR}/manifest.json",
    }
    if needs:
        inputs["recovery"] = f"{RESULTS}/runs/{needs}/csibert_recovery.pt"
    return inputs


#: The recovery file that fills the lost packets again (csi.fill: csibert).
FILL_CHECKPOINT = f"{RESULTS}/runs/csibert_fill-window-seed{TRAIN['seeds'][0]}/csibert_recovery.pt"


def pretrain_inputs(wildcards):
    """The MLflow store and the data set a pre-training reads: the fill's reads the linear set,
    a fine-tune's the set it fine-tunes on (its test rows must be the fine-tune's)."""
    dataset = DATASET_DIR if wildcards.run.startswith("csibert_fill") else TRAIN_DATASET_DIR
    return {
        "init": f"{RESULTS}/runs/.mlflow_init",
        "frames": f"{dataset}/frames.parquet",
        "manifest": f"{dataset}/manifest.json",
    }
