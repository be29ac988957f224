# Vision labels: train the synthetic person detector on other people, detect the
# person in every benchmark frame (eq. 1), map to the floor (eqs. 2-3), and measure
# label quality against the simulator's truth.

DETTRAIN = detector_training_sessions()
LABELS = config["labels"]
REFINE = "--refine-feet" if LABELS["refine_feet"] else "--no-refine-feet"


rule simulate_detector_training:
    input:
        scene=config["scene"],
    output:
        raw_outputs(f"{RAW}/{{session}}"),
    params:
        subject=lambda wc: DETTRAIN[wc.session][0],
        view=lambda wc: DETTRAIN[wc.session][1],
        out=lambda wc: f"{RAW}/{wc.session}",
        seconds=config["detector_training"]["seconds"],
        outfits=config["detector_training"]["outfit_change_s"],
        seed=config["seed"],
    wildcard_constraints:
        session="|".join(DETTRAIN) or "NONE",
    threads: 1
    log:
        "results/logs/simulate/{session}.log",
    shell:
        "lofi simulate --scene {input.scene} --subject {params.subject} --view {params.view} "
        "--seconds {params.seconds} --outfit-change-s {params.outfits} --seed {params.seed} --out {params.out} "
        "--quiet > {log} 2>&1"


rule train_detector:
    input:
        [ancient(f"{RAW}/{s}/video.mp4") for s in sorted(DETTRAIN)],
        [ancient(f"{RAW}/{s}/truth/frames.parquet") for s in sorted(DETTRAIN)],
    output:
        weights="data/models/person_yolo.pt",
        report="data/models/person_yolo.json",
    params:
        sessions=" ".join(f"--session {RAW}/{s}" for s in sorted(DETTRAIN)),
        epochs=config["detector_training"]["epochs"],
        frames=config["detector_training"]["frames_per_session"],
        seed=config["seed"],
    threads: 2
    log:
        "results/logs/train_detector.log",
    shell:
        "lofi train-detector {params.sessions} --epochs {params.epochs} --frames-per-session {params.frames} "
        "--seed {params.seed} --out {output.weights} > {log} 2>&1"


rule detect:
    input:
        video=ancient(f"{RAW}/{{session}}/video.mp4"),
        frames=ancient(f"{RAW}/{{session}}/frames.csv"),
        weights=weights_input,
    output:
        "data/interim/{session}/detections.parquet",
    params:
        session=lambda wc: f"{RAW}/{wc.session}",
        detector=LABELS["detector"],
        weights=LABELS["weights"],
        imgsz=LABELS["imgsz"],
        refine=REFINE,
    threads: 2
    log:
        "results/logs/detect/{session}.log",
    shell:
        "lofi detect {params.session} --detector {params.detector} --weights {params.weights} "
        "--imgsz {params.imgsz} {params.refine} --out {output} --quiet > {log} 2>&1"


FOOT_OFFSET_FILE = "data/models/foot_offset.json"
FIT_OFFSET = LABELS["foot_offset_m"] == "fit"


rule fit_foot_offset:
    input:
        [ancient(f"{RAW}/{s}/video.mp4") for s in sorted(DETTRAIN)],
        [ancient(f"{RAW}/{s}/truth/frames.parquet") for s in sorted(DETTRAIN)],
        weights=LABELS["weights"],
    output:
        FOOT_OFFSET_FILE,
    params:
        sessions=" ".join(f"--session {RAW}/{s}" for s in sorted(DETTRAIN)),
        detector=LABELS["detector"],
        imgsz=LABELS["imgsz"],
        foot_point=LABELS["foot_point"],
        refine=REFINE,
    threads: 2
    log:
        "results/logs/fit_foot_offset.log",
    shell:
        "lofi fit-foot-offset {params.sessions} --detector {params.detector} --weights {input.weights} "
        "--imgsz {params.imgsz} --foot-point {params.foot_point} {params.refine} --out {output} --quiet "
        "> {log} 2>&1"


rule localize:
    input:
        detections="data/interim/{session}/detections.parquet",
        calibration=ancient(f"{RAW}/{{session}}/calibration.yaml"),
        offset=[FOOT_OFFSET_FILE] if FIT_OFFSET else [],
    output:
        "data/interim/{session}/positions.parquet",
    params:
        session=lambda wc: f"{RAW}/{wc.session}",
        offset=(
            f"--foot-offset-from {FOOT_OFFSET_FILE}" if FIT_OFFSET else f"--foot-offset-m {LABELS['foot_offset_m']}"
        ),
        foot_point=LABELS["foot_point"],
    log:
        "results/logs/localize/{session}.log",
    shell:
        "lofi localize {params.session} --detections {input.detections} {params.offset} "
        "--foot-point {params.foot_point} --out {output} > {log} 2>&1"


rule label_quality:
    input:
        survey=[ancient(f"{RAW}/{s}/video.mp4") for s in sorted(SURVEYS)],
        offset=FOOT_OFFSET_FILE,
        positions=[f"data/interim/{s}/positions.parquet" for s in sorted(WALKS)],
        weights=LABELS["weights"],
    output:
        "results/label_quality.md",
        "results/label_quality.csv",
        "results/figures/label_error_map.png",
        "results/figures/detectors_panel.png",
    params:
        survey=" ".join(f"{RAW}/{s}" for s in sorted(SURVEYS)),
        walks=" ".join(f"{RAW}/{s}" for s in sorted(WALKS)),
        detectors=",".join(config["label_quality"]["detectors"]),
        foot_point=LABELS["foot_point"],
        refine=REFINE,
    threads: 2
    log:
        "results/logs/label_quality.log",
    shell:
        "lofi label-quality --survey {params.survey} --walk {params.walks} --detectors {params.detectors} "
        "--weights {input.weights} --foot-offset-from {input.offset} --foot-point {params.foot_point} "
        "{params.refine} --out-dir results --quiet > {log} 2>&1"
