# The processed data set: every benchmark session's aligned rows in one store + manifest.


rule dataset:
    input:
        aligned=interim_files(WALKS, "aligned.parquet"),
        csi_reports=interim_files(WALKS, "csi.json"),
        summaries=interim_files(WALKS, "aligned.json"),
        truth=raw_files(WALKS, "truth/pings.parquet"),  # x_true, y_true (evaluation only)
    output:
        frames=f"{DATASET_DIR}/frames.parquet",
        manifest=f"{DATASET_DIR}/manifest.json",
    params:
        name=DATASET["name"],
        interim=folders(WALKS, INTERIM),
        export="--export-lofi" if DATASET["export_lofi"] else "",
    priority: 10  # before label_quality: training waits for the data set, nothing waits for the report
    log:
        "results/logs/dataset.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi dataset {params.name} --interim {params.interim} {params.export} > {log} 2>&1"
