# Raw sessions from the simulator (source: synthetic): the benchmark's walking
# sessions and the surveyed-points sessions of the label-quality experiment.

RAW = config["raw_dir"]
WALKS = walk_sessions()
SURVEYS = survey_sessions()


rule simulate_walk:
    input:
        scene=config["scene"],
    output:
        raw_outputs(f"{RAW}/{{session}}"),
    params:
        subject=lambda wc: WALKS[wc.session],
        out=lambda wc: f"{RAW}/{wc.session}",
        seconds=round(config["minutes"] * 60, 3),
        view=config["view"],
        seed=config["seed"],
    wildcard_constraints:
        session="|".join(WALKS) or "NONE",
    threads: 1
    log:
        "results/logs/simulate/{session}.log",
    shell:
        "lofi simulate --scene {input.scene} --subject {params.subject} --view {params.view} "
        "--seconds {params.seconds} --seed {params.seed} --out {params.out} --quiet > {log} 2>&1"


rule simulate_survey:
    input:
        scene=config["scene"],
    output:
        raw_outputs(f"{RAW}/{{session}}"),
    params:
        subjects=" ".join(f"--subject {s}" for s in config["survey"]["subjects"]),
        view=lambda wc: SURVEYS[wc.session],
        out=lambda wc: f"{RAW}/{wc.session}",
        stand_s=config["survey"]["stand_s"],
        seed=config["seed"],
    wildcard_constraints:
        session="|".join(SURVEYS) or "NONE",
    threads: 1
    log:
        "results/logs/simulate/{session}.log",
    shell:
        "lofi simulate --scene {input.scene} {params.subjects} --view {params.view} --mode survey "
        "--stand-s {params.stand_s} --seed {params.seed} --out {params.out} --quiet > {log} 2>&1"


rule inspect_session:
    input:
        ancient(f"{RAW}/{{session}}/csi.csv"),
        ancient(f"{RAW}/{{session}}/session.yaml"),
    output:
        "results/inspect/{session}.json",
    params:
        folder=lambda wc: f"{RAW}/{wc.session}",
    log:
        "results/logs/inspect/{session}.log",
    shell:
        "lofi inspect --json {params.folder} > {output}.tmp 2> {log} && mv {output}.tmp {output}"
