# The processed data set: every benchmark session's aligned rows in one store + manifest.


rule dataset:
    input:
        aligned=interim_files(DATA_SESSIONS, "aligned.parquet"),
        csi_reports=interim_files(DATA_SESSIONS, "csi.json"),
        summaries=interim_files(DATA_SESSIONS, "aligned.json"),
        truth=raw_files(simulated(WALKS), "truth/pings.parquet"),  # x_true, y_true (evaluation only)
    output:
        frames=f"{DATASET_DIR}/frames.parquet",
        manifest=f"{DATASET_DIR}/manifest.json",
    params:
        name=DATASET["name"],
        interim=folders(DATA_SESSIONS, INTERIM),
        export="--export-lofi" if DATASET["export_lofi"] else "",
        out_dir=dataset_parent,
        min_coverage=DATASET["min_label_coverage_pct"],
        min_windows=DATASET["min_usable_windows"],
    priority: 10  # before label_quality: training waits for the data set, nothing waits for the report
    benchmark:
        f"{BENCHMARKS}/dataset.tsv",
    log:
        f"{LOGS}/dataset.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi dataset {params.name} --interim {params.interim} --out-dir {params.out_dir} {params.export} "
        "--min-label-coverage-pct {params.min_coverage} --min-usable-windows {params.min_windows} 2>&1 | tee {log}"


rule dataset_refill:
    """csi.fill: csibert: the second data set <name>_csibert, from the CSI-BERT-filled tables."""
    input:
        aligned=interim_files(WALKS, "aligned_csibert.parquet"),
        csi_reports=interim_files(WALKS, "csi_csibert.json"),
        summaries=interim_files(WALKS, "aligned_csibert.json"),
        truth=raw_files(simulated(WALKS), "truth/pings.parquet"),
    output:
        frames=f"{PROCESSED}/{DATASET['name']}_csibert/frames.parquet",
        manifest=f"{PROCESSED}/{DATASET['name']}_csibert/manifest.json",
    params:
        name=f"{DATASET['name']}_csibert",
        interim=folders(WALKS, INTERIM),
        out_dir=dataset_parent,
        min_coverage=DATASET["min_label_coverage_pct"],
        min_windows=DATASET["min_usable_windows"],
    benchmark:
        f"{BENCHMARKS}/dataset_csibert.tsv",
    log:
        f"{LOGS}/dataset_csibert.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi dataset {params.name} --interim {params.interim} --out-dir {params.out_dir} --fill csibert "
        "--min-label-coverage-pct {params.min_coverage} --min-usable-windows {params.min_windows} 2>&1 | tee {log}"
