# Table II: one MLflow store and experiment first, then one `python -m lofi.train` job per run
# (model x normalisation x seed [x fold] [x sweep value], the baselines, the truth-label rows and
# CSI-BERT pre-training before each CSI-BERT fine-tune), then the report.
# Run folders: <results>/runs/<run>/ (hydra.run.dir and the MLflow run name set here; a run that
# is stale reruns into its folder with overwrite=true).


rule mlflow_init:
    output:
        touch(f"{RESULTS}/runs/.mlflow_init"),
    params:
        experiment=TRAIN["experiment"],
    benchmark:
        f"{BENCHMARKS}/mlflow_init.tsv",
    log:
        f"{LOGS}/mlflow_init.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi mlflow-init --experiment {params.experiment} > {log} 2>&1"


rule pretrain:
    input:
        unpack(pretrain_inputs),
    output:
        metrics=f"{RESULTS}/runs/{{run}}/metrics.json",
        recovery=f"{RESULTS}/runs/{{run}}/csibert_recovery.pt",
    params:
        overrides=run_overrides,
        run_dir=f"{RESULTS}/runs/{{run}}",
    wildcard_constraints:
        run=alternatives(PRETRAIN_RUNS),
    threads: TRAIN["threads"]
    resources:
        gpu=GPUS_PER_JOB,
    benchmark:
        f"{BENCHMARKS}/train/{{run}}.tsv",
    log:
        f"{LOGS}/train/{{run}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "python -m lofi.train {params.overrides} trainer.threads={threads} run_name={wildcards.run} "
        "hydra.run.dir={params.run_dir} overwrite=true > {log} 2>&1"


rule train:
    input:
        unpack(train_inputs),
    output:
        metrics=f"{RESULTS}/runs/{{run}}/metrics.json",
        predictions=f"{RESULTS}/runs/{{run}}/predictions.parquet",
    params:
        overrides=run_overrides,
        run_dir=f"{RESULTS}/runs/{{run}}",
    wildcard_constraints:
        run=alternatives(TRAIN_RUNS),
    threads: TRAIN["threads"]
    resources:
        gpu=GPUS_PER_JOB,
    benchmark:
        f"{BENCHMARKS}/train/{{run}}.tsv",
    log:
        f"{LOGS}/train/{{run}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "python -m lofi.train {params.overrides} trainer.threads={threads} run_name={wildcards.run} "
        "hydra.run.dir={params.run_dir} overwrite=true > {log} 2>&1"


rule report:
    input:
        metrics=expand(f"{RESULTS}/runs/{{run}}/metrics.json", run=sorted(TRAIN_RUNS)),
        predictions=expand(f"{RESULTS}/runs/{{run}}/predictions.parquet", run=sorted(TRAIN_RUNS)),
        label_quality=[] if RECORDED else f"{RESULTS}/label_quality.md",
    output:
        table=report(f"{RESULTS}/table2.md", caption="../report/table2.rst", category="Table II"),
        csv=f"{RESULTS}/table2.csv",
        json=f"{RESULTS}/table2.json",
        cdf=report(f"{RESULTS}/figures/error_cdf.png", caption="../report/error_cdf.rst", category="Table II"),
        trajectory=report(
            f"{RESULTS}/figures/trajectory.png", caption="../report/trajectory.rst", category="Table II"
        ),
        by_position=report(
            f"{RESULTS}/figures/error_by_position.png",
            caption="../report/error_by_position.rst",
            category="Table II",
        ),
        cdf_data=f"{RESULTS}/plots/error_cdf.csv",  # dvc plots (dvc.yaml)
        map_data=f"{RESULTS}/plots/error_by_position.csv",
    params:
        runs=runs_folder,
        names=" ".join(sorted(TRAIN_RUNS)),
        results=output_folder,
    benchmark:
        f"{BENCHMARKS}/report.tsv",
    log:
        f"{LOGS}/report.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi report {params.runs} --only {params.names} --out-dir {params.results} 2>&1 | tee {log}"
