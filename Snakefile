# LoFi pipeline. Every rule calls the `lofi` command line; nothing here computes itself.
# Stages so far: summarise the bundled real ESP32 CSI logs with `lofi inspect`.

from pathlib import Path

REAL_LOGS = {p.parent.name: str(p) for p in sorted(Path("tests/data/real_csi").glob("*/*.csv"))}


rule all:
    default_target: True
    input:
        expand("results/inspect/{log}.json", log=sorted(REAL_LOGS)),


rule inspect_real_log:
    input:
        lambda wc: REAL_LOGS[wc.log],
    output:
        "results/inspect/{log}.json",
    log:
        "results/logs/inspect/{log}.log",
    shell:
        "lofi inspect --json {input} > {output}.tmp 2> {log} && mv {output}.tmp {output}"
