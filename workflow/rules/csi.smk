# CSI completion (eq. 4 + gap filling) and alignment with the vision labels (eq. 5).


rule csi:
    input:
        csv=ancient(f"{RAW}/{{session}}/csi.csv"),
        meta=ancient(f"{RAW}/{{session}}/session.yaml"),
    output:
        table=f"{INTERIM}/{{session}}/csi.parquet",
        report=f"{INTERIM}/{{session}}/csi.json",
    params:
        session=session_dir,
        fill=BASE_FILL,
        max_gap_s=CSI["max_gap_s"],
        max_insert_s=CSI["max_insert_s"],
        clock_jump_s=CSI["clock_jump_s"],
        keep_sig_modes=CSI["keep_sig_modes"],
    benchmark:
        f"{BENCHMARKS}/csi/{{session}}.tsv",
    log:
        f"{LOGS}/csi/{{session}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi csi {params.session} --fill {params.fill} --max-gap-s {params.max_gap_s} "
        "--max-insert-s {params.max_insert_s} --clock-jump-s {params.clock_jump_s} "
        "--keep-sig-modes {params.keep_sig_modes} --out {output.table} > {log} 2>&1"


rule align:
    input:
        csi=f"{INTERIM}/{{session}}/csi.parquet",
        positions=f"{INTERIM}/{{session}}/positions.parquet",
        meta=ancient(f"{RAW}/{{session}}/session.yaml"),
    output:
        table=f"{INTERIM}/{{session}}/aligned.parquet",
        summary=f"{INTERIM}/{{session}}/aligned.json",
    params:
        session=session_dir,
        tolerance=tolerance_option,
    wildcard_constraints:
        session=alternatives(WALKS),
    priority: 10  # on the way to the data set (see rule dataset)
    benchmark:
        f"{BENCHMARKS}/align/{{session}}.tsv",
    log:
        f"{LOGS}/align/{{session}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi align {params.session} --csi {input.csi} --positions {input.positions} {params.tolerance} "
        "--out {output.table} > {log} 2>&1"


rule align_point:
    """A surveyed-point session (source: recorded, no video): every row at its session.yaml position_m."""
    input:
        csi=f"{INTERIM}/{{session}}/csi.parquet",
        meta=ancient(f"{RAW}/{{session}}/session.yaml"),
    output:
        table=f"{INTERIM}/{{session}}/aligned.parquet",
        summary=f"{INTERIM}/{{session}}/aligned.json",
    params:
        session=session_dir,
    wildcard_constraints:
        session=alternatives(POINTS),
    priority: 10
    benchmark:
        f"{BENCHMARKS}/align/{{session}}.tsv",
    log:
        f"{LOGS}/align/{{session}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi align {params.session} --csi {input.csi} --out {output.table} > {log} 2>&1"


rule csi_refill:
    """csi.fill: csibert: the lost packets filled again by CSI-BERT, pre-trained on the linear set."""
    input:
        csv=ancient(f"{RAW}/{{session}}/csi.csv"),
        meta=ancient(f"{RAW}/{{session}}/session.yaml"),
        checkpoint=FILL_CHECKPOINT,
    output:
        table=f"{INTERIM}/{{session}}/csi_{{fill}}.parquet",
        report=f"{INTERIM}/{{session}}/csi_{{fill}}.json",
    params:
        session=session_dir,
        max_gap_s=CSI["max_gap_s"],
        max_insert_s=CSI["max_insert_s"],
        clock_jump_s=CSI["clock_jump_s"],
        keep_sig_modes=CSI["keep_sig_modes"],
    wildcard_constraints:
        fill="csibert",
    benchmark:
        f"{BENCHMARKS}/csi/{{session}}_{{fill}}.tsv",
    log:
        f"{LOGS}/csi/{{session}}_{{fill}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi csi {params.session} --fill {wildcards.fill} --checkpoint {input.checkpoint} "
        "--max-gap-s {params.max_gap_s} --max-insert-s {params.max_insert_s} "
        "--clock-jump-s {params.clock_jump_s} --keep-sig-modes {params.keep_sig_modes} "
        "--out {output.table} > {log} 2>&1"


rule align_refill:
    input:
        csi=f"{INTERIM}/{{session}}/csi_{{fill}}.parquet",
        positions=f"{INTERIM}/{{session}}/positions.parquet",
        meta=ancient(f"{RAW}/{{session}}/session.yaml"),
    output:
        table=f"{INTERIM}/{{session}}/aligned_{{fill}}.parquet",
        summary=f"{INTERIM}/{{session}}/aligned_{{fill}}.json",
    params:
        session=session_dir,
        tolerance=tolerance_option,
    wildcard_constraints:
        fill="csibert",
    benchmark:
        f"{BENCHMARKS}/align/{{session}}_{{fill}}.tsv",
    log:
        f"{LOGS}/align/{{session}}_{{fill}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi align {params.session} --csi {input.csi} --positions {input.positions} {params.tolerance} "
        "--out {output.table} > {log} 2>&1"
