# Raw sessions from the simulator (source: synthetic): the benchmark's walking sessions and
# the surveyed-points sessions of the label-quality experiment; and their CSI summaries.


rule simulate_walk:
    input:
        scene=SCENE_FILE,
    output:
        raw_outputs(f"{RAW}/{{session}}"),
    params:
        scene=config["scene"],
        subject=walk_subject,
        out=session_dir,
        minutes=config["minutes"],
        view=config["view"],
        seed=config["seed"],
    wildcard_constraints:
        session=alternatives(simulated(WALKS)),
    threads: 1
    benchmark:
        f"{BENCHMARKS}/simulate/{{session}}.tsv",
    log:
        f"{LOGS}/simulate/{{session}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi simulate --scene {params.scene} --subject {params.subject} --view {params.view} "
        "--minutes {params.minutes} --seed {params.seed} --out {params.out} --quiet > {log} 2>&1"


rule simulate_survey:
    input:
        scene=SCENE_FILE,
    output:
        raw_outputs(f"{RAW}/{{session}}"),
    params:
        scene=config["scene"],
        subjects=" ".join(f"--subject {s}" for s in config["survey"]["subjects"]),
        view=survey_view,
        out=session_dir,
        stand_s=config["survey"]["stand_s"],
        seed=config["seed"],
    wildcard_constraints:
        session=alternatives(simulated(SURVEYS)),
    threads: 1
    benchmark:
        f"{BENCHMARKS}/simulate/{{session}}.tsv",
    log:
        f"{LOGS}/simulate/{{session}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi simulate --scene {params.scene} {params.subjects} --view {params.view} --mode survey "
        "--stand-s {params.stand_s} --seed {params.seed} --out {params.out} --quiet > {log} 2>&1"


rule inspect_session:
    input:
        csv=ancient(f"{RAW}/{{session}}/csi.csv"),
        meta=ancient(f"{RAW}/{{session}}/session.yaml"),
    output:
        f"{RESULTS}/inspect/{{session}}.json",
    params:
        folder=session_dir,
    benchmark:
        f"{BENCHMARKS}/inspect/{{session}}.tsv",
    log:
        f"{LOGS}/inspect/{{session}}.log",
    conda:
        "../envs/lofi.yaml"
    shell:
        "lofi inspect {params.folder} --out {output} > {log} 2>&1"
