# CSI completion (eq. 4 + gap filling) and alignment with the vision labels (eq. 5).

CSI = config["csi"]
ALIGN = config["align"]


rule csi:
    input:
        csv=ancient(f"{RAW}/{{session}}/csi.csv"),
        meta=ancient(f"{RAW}/{{session}}/session.yaml"),
    output:
        table="data/interim/{session}/csi.parquet",
        report="data/interim/{session}/csi.json",
    params:
        session=lambda wc: f"{RAW}/{wc.session}",
    log:
        "results/logs/csi/{session}.log",
    shell:
        "lofi csi {params.session} --fill {CSI[fill]} --max-gap-s {CSI[max_gap_s]} "
        "--max-insert-s {CSI[max_insert_s]} --clock-jump-s {CSI[clock_jump_s]} --out {output.table} > {log} 2>&1"


def tolerance_option(wildcards=None):
    tolerance = ALIGN["tolerance_s"]
    return "" if tolerance is None else f"--tolerance-s {tolerance}"


rule align:
    input:
        csi="data/interim/{session}/csi.parquet",
        positions="data/interim/{session}/positions.parquet",
        meta=ancient(f"{RAW}/{{session}}/session.yaml"),
    output:
        table="data/interim/{session}/aligned.parquet",
        summary="data/interim/{session}/aligned.json",
    params:
        session=lambda wc: f"{RAW}/{wc.session}",
        tolerance=tolerance_option,
    log:
        "results/logs/align/{session}.log",
    shell:
        "lofi align {params.session} --csi {input.csi} --positions {input.positions} {params.tolerance} "
        "--out {output.table} > {log} 2>&1"
