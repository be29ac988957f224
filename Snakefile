# LoFi pipeline. Every rule calls the `lofi` command line; nothing here computes itself.
#   snakemake --cores 8                                      # paper scale (default)
#   snakemake --cores 8 --configfile conf/pipeline/quick.yaml # or smoke.yaml
# Stages so far: simulate raw sessions -> inspect their CSI logs; train the person
# detector -> detect -> localize -> label quality; csi -> align -> dataset.

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


rule all:
    default_target: True
    input:
        [raw_outputs(f"{RAW}/{s}") for s in all_sessions()],
        expand("results/inspect/{session}.json", session=all_sessions()),
        interim_files(WALKS, "positions.parquet"),
        "results/label_quality.md",
        f"{DATASET_DIR}/manifest.json",
