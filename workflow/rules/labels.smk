# Long steps (detector training, detection, the foot-offset fit, label quality) show their progress
# on the console as well as in their log (tee).
# Vision labels: train the synthetic person detector on other people, detect the person in
# every benchmark frame (eq. 1), map to the floor (eqs. 2-3), and measure label quality
# against the simulator's truth.


rule simulate_detector_training:
    input:
        scene=SCENE_FILE,
    output:
        raw_outputs(f"{RAW}/{{session}}"),
    params:
        scene=config["scene"],
        subject=dettrain_subject,
        view=dettrain_view,
        out=session_dir,
        seconds=config["detector_training"]["seconds"],
        outfits=config["detector_training"]["outfit_change_s"],
        seed=config["seed"],
    wildcard_constraints:
        session=alternatives(DETTRAIN),
    threads: 1
    benchmark:
        f"{BENCHMARKS}/simulate/{{session}}.tsv",
    log:
        f"{LOGS}/simulate/{{session}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi simulate --scene {params.scene} --subject {params.subject} --view {params.view} "
        "--seconds {params.seconds} --outfit-change-s {params.outfits} --seed {params.seed} --out {params.out} "
        "--quiet > {log} 2>&1"


rule train_detector:
    input:
        videos=raw_files(DETTRAIN, "video.mp4"),
        frames=raw_files(DETTRAIN, "frames.csv"),
        truth=raw_files(DETTRAIN, "truth/frames.parquet"),
    output:
        weights=LABELS["weights"],
        report=str(Path(LABELS["weights"]).with_suffix(".json")),
    params:
        sessions=options("--session", DETTRAIN),
        epochs=config["detector_training"]["epochs"],
        frames=config["detector_training"]["frames_per_session"],
        imgsz=LABELS["imgsz"],
        seed=config["seed"],
    threads: 2
    benchmark:
        f"{BENCHMARKS}/train_detector.tsv",
    log:
        f"{LOGS}/train_detector.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi train-detector {params.sessions} --epochs {params.epochs} --frames-per-session {params.frames} "
        "--imgsz {params.imgsz} --seed {params.seed} --out {output.weights} 2>&1 | tee {log}"


rule detect:
    input:
        video=ancient(f"{RAW}/{{session}}/video.mp4"),
        frames=ancient(f"{RAW}/{{session}}/frames.csv"),
        weights=weights_input,
    output:
        f"{INTERIM}/{{session}}/detections.parquet",
    params:
        session=session_dir,
        detector=LABELS["detector"],
        weights=LABELS["weights"],
        imgsz=LABELS["imgsz"],
        refine=REFINE,
    threads: 2
    benchmark:
        f"{BENCHMARKS}/detect/{{session}}.tsv",
    log:
        f"{LOGS}/detect/{{session}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi detect {params.session} --detector {params.detector} --weights {params.weights} "
        "--imgsz {params.imgsz} {params.refine} --out {output} 2>&1 | tee {log}"


rule fit_foot_offset:
    input:
        videos=raw_files(DETTRAIN, "video.mp4"),
        frames=raw_files(DETTRAIN, "frames.csv"),
        calibrations=raw_files(DETTRAIN, "calibration.yaml"),
        truth=raw_files(DETTRAIN, "truth/frames.parquet"),
        weights=weights_input,
    output:
        FOOT_OFFSET_FILE,
    params:
        sessions=options("--session", DETTRAIN),
        detector=LABELS["detector"],
        weights=LABELS["weights"],
        imgsz=LABELS["imgsz"],
        foot_point=LABELS["foot_point"],
        refine=REFINE,
    threads: 2
    benchmark:
        f"{BENCHMARKS}/fit_foot_offset.tsv",
    log:
        f"{LOGS}/fit_foot_offset.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi fit-foot-offset {params.sessions} --detector {params.detector} --weights {params.weights} "
        "--imgsz {params.imgsz} --foot-point {params.foot_point} {params.refine} --out {output} 2>&1 | tee {log}"


rule localize:
    input:
        detections=f"{INTERIM}/{{session}}/detections.parquet",
        calibration=ancient(f"{RAW}/{{session}}/calibration.yaml"),
        offset=foot_offset_input,
    output:
        f"{INTERIM}/{{session}}/positions.parquet",
    params:
        session=session_dir,
        offset=foot_offset_option,
        foot_point=LABELS["foot_point"],
    benchmark:
        f"{BENCHMARKS}/localize/{{session}}.tsv",
    log:
        f"{LOGS}/localize/{{session}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi localize {params.session} --detections {input.detections} {params.offset} "
        "--foot-point {params.foot_point} --out {output} > {log} 2>&1"


rule label_quality:
    input:
        survey_videos=raw_files(SURVEYS, "video.mp4"),
        survey_truth=raw_files(SURVEYS, "truth/frames.parquet"),
        walk_truth=raw_files(WALKS, "truth/frames.parquet"),
        detections=interim_files(WALKS, "detections.parquet"),
        positions=interim_files(WALKS, "positions.parquet"),
        offset=foot_offset_input,
        weights=study_weights_input,
    output:
        report(f"{RESULTS}/label_quality.md", caption="../report/label_quality.rst", category="Vision labels"),
        f"{RESULTS}/label_quality.csv",
        report(
            f"{RESULTS}/figures/label_error_map.png", caption="../report/label_error_map.rst", category="Vision labels"
        ),
        report(
            f"{RESULTS}/figures/detectors_panel.png", caption="../report/detectors_panel.rst", category="Vision labels"
        ),
    params:
        survey=folders(SURVEYS),
        walks=folders(WALKS),
        detectors=",".join(config["label_quality"]["detectors"]),
        weights=LABELS["weights"],
        imgsz=LABELS["imgsz"],
        offset=foot_offset_option,
        foot_point=LABELS["foot_point"],
        refine=REFINE,
        results=output_folder,
    threads: 2
    benchmark:
        f"{BENCHMARKS}/label_quality.tsv",
    log:
        f"{LOGS}/label_quality.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi label-quality --survey {params.survey} --walk {params.walks} "
        "--walk-detections {input.detections} --walk-positions {input.positions} "
        "--detectors {params.detectors} --weights {params.weights} --imgsz {params.imgsz} {params.offset} "
        "--foot-point {params.foot_point} {params.refine} --out-dir {params.results} 2>&1 | tee {log}"
