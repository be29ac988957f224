# LoFi pipeline. Every rule calls the `lofi` command line; nothing here computes itself.
#   snakemake --cores 8                                      # paper scale (default)
#   snakemake --cores 8 --configfile conf/pipeline/quick.yaml # or smoke.yaml
# Stages: simulate raw sessions -> inspect their CSI logs; train the person detector -> detect
# -> localize -> label quality; csi -> align -> dataset; mlflow_init -> train (Table II runs,
# CSI-BERT pre-training first) -> report (results/table2.md and its figures).
#   snakemake --cores 8 --report results/report.html          # the figures as one HTML page

from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

configfile: "conf/pipeline.yaml"
validate(config, "workflow/schemas/pipeline.schema.yaml", set_default=True)


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/labels.smk"
include: "workflow/rules/csi.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/train.smk"


rule all:
    default_target: True
    input:
        [raw_outputs(f"{RAW}/{s}") for s in simulated(all_sessions())],
        expand(f"{RESULTS}/inspect/{{session}}.json", session=all_sessions()),
        [] if RECORDED else f"{RESULTS}/label_quality.md",  # no truth to measure labels against
        f"{RESULTS}/table2.md",
