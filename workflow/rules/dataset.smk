# The processed data set: every benchmark session's aligned rows in one store + manifest.

DATASET = config["dataset"]
DATASET_DIR = f"data/processed/{DATASET['name']}"


rule dataset:
    input:
        [f"data/interim/{s}/aligned.parquet" for s in sorted(WALKS)],
        [f"data/interim/{s}/csi.json" for s in sorted(WALKS)],
        [f"data/interim/{s}/aligned.json" for s in sorted(WALKS)],
    output:
        frames=f"{DATASET_DIR}/frames.parquet",
        manifest=f"{DATASET_DIR}/manifest.json",
    params:
        interim=" ".join(f"data/interim/{s}" for s in sorted(WALKS)),
        export="--export-lofi" if DATASET["export_lofi"] else "",
    log:
        "results/logs/dataset.log",
    shell:
        "lofi dataset {DATASET[name]} --interim {params.interim} {params.export} > {log} 2>&1"
