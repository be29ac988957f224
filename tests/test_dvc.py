"""DVC versions the pipeline's data and models; Snakemake keeps orchestrating.

The project's DVC set-up (``.dvc/config``, ``.dvcignore``, ``dvc.yaml``, ``.gitignore``) in a
throw-away git repository made of the smoke project: what ``make data-push`` tracks (raw sessions,
data sets, detector, each run's ``model.pt`` and ``csibert_recovery.pt``) goes to a local remote
and comes back byte for byte; Snakemake then has nothing to do although DVC gave every file it
wrote a new modification time (Snakemake compares the checksums it recorded of the jobs' inputs:
``max-checksum-file-size`` in the workflow profile); a corrupted file in the remote is refused, one
in the cache fetched again; stale files in a clone are never overwritten silently.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.smoke_project import ROOT, SMOKE_CONFIG, SMOKE_ROOT, copy_project, environment, snakemake

#: The project's DVC and git set-up, copied into the throw-away repository.
DVC_FILES = (".dvc/config", ".dvc/.gitignore", ".dvc/plots", ".dvcignore", "dvc.yaml", ".gitignore")
NOTHING = "Nothing to be done"


def test_dvc_never_phones_home():
    from configobj import ConfigObj

    config = ConfigObj(str(ROOT / ".dvc" / "config"))
    assert config["core"]["analytics"] == "false" and config["core"]["check_update"] == "false"
    assert config["studio"]["offline"] == "true"
    remote = config[f'remote "{config["core"]["remote"]}"']
    # ../lofi-dvc-remote beside the repository (DVC reads the url from .dvc/)
    assert remote["url"] == "../../lofi-dvc-remote" and remote["verify"] == "true"


def _dvc(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = environment() | {"DVC_NO_ANALYTICS": "1"}
    cmd = [str(Path(sys.executable).parent / "dvc"), *args]
    result = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert not check or result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def _git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, text=True)


def _tracked(project: Path) -> list[str]:
    """What ``make data-push ROOT=scales/smoke`` gives to ``dvc add`` (those that exist)."""
    root = project / SMOKE_ROOT
    paths = [root / "data" / name for name in ("raw", "processed", "detector")]
    runs = root / "results" / "runs"
    paths += sorted(runs.glob("*/model.pt")) + sorted(runs.glob("*/csibert_recovery.pt"))
    return [p.relative_to(project).as_posix() for p in paths if p.exists()]


def _digests(project: Path, tracked: list[str]) -> dict[str, str]:
    """sha256 of every file of the tracked paths."""
    files = []
    for name in tracked:
        path = project / name
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {p.relative_to(project).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _remove(project: Path, tracked: list[str]) -> None:
    for name in tracked:
        path = project / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def _nothing_to_do(project: Path) -> tuple[bool, str]:
    result = snakemake(project, "-n", "--configfile", SMOKE_CONFIG)
    return NOTHING in result.stdout + result.stderr, result.stdout[-3000:]


@pytest.fixture(scope="module")
def versioned(smoke_project, tmp_path_factory):
    """The smoke project as a git repository with the project's DVC set-up, its data added and
    pushed to a local remote: (project, remote, tracked paths, their digests)."""
    base = tmp_path_factory.mktemp("dvc")
    project = copy_project(smoke_project, base / "project")
    for name in DVC_FILES:
        source, target = ROOT / name, project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target) if source.is_dir() else shutil.copy(source, target)
    # the project never commits the smoke scale; this throw-away repository versions it
    ignore = project / ".gitignore"
    ignore.write_text(
        "".join(f"{line}\n" for line in ignore.read_text().splitlines() if line != "/scales/smoke/")
    )
    _git(project, "init", "-q")
    _git(project, "config", "user.email", "test@lofi")
    _git(project, "config", "user.name", "test")
    remote = base / "remote"
    _dvc(project, "remote", "modify", "--local", "local", "url", str(remote))  # .dvc/config.local
    tracked = _tracked(project)
    assert f"{SMOKE_ROOT.as_posix()}/data/raw" in tracked and any(p.endswith("model.pt") for p in tracked)
    digests = _digests(project, tracked)
    _dvc(project, "add", *tracked)
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "smoke data versioned")
    committed = subprocess.run(
        ["git", "ls-files"], cwd=project, capture_output=True, text=True
    ).stdout.split()
    pointers = sorted(f"{name}.dvc" for name in tracked)
    assert sorted(f for f in committed if f.endswith(".dvc")) == pointers
    assert not any(f.startswith(tuple(f"{name}/" for name in tracked)) or f in tracked for f in committed)
    _dvc(project, "push")
    assert any(p.is_file() for p in remote.rglob("*"))
    return project, remote, tracked, digests


@pytest.mark.slow
def test_pull_after_deleting_data_and_cache_gives_the_same_bytes_and_snakemake_nothing_to_do(versioned):
    project, _, tracked, digests = versioned
    done, out = _nothing_to_do(project)  # `dvc add` itself rewrote the files (new mtimes)
    assert done, out
    _remove(project, tracked)
    shutil.rmtree(project / ".dvc" / "cache")
    _dvc(project, "pull")
    assert _digests(project, tracked) == digests
    done, out = _nothing_to_do(project)
    assert done, out


def _object(store: Path, project: Path, pointer: str) -> Path:
    """The file of ``pointer``'s (single-file) output in a DVC store (remote or cache)."""
    md5 = next(line.split()[-1] for line in (project / pointer).read_text().splitlines() if "md5:" in line)
    return store / "files" / "md5" / md5[:2] / md5[2:]


def _corrupt(path: Path) -> bytes:
    """Overwrite a few bytes of ``path`` (DVC stores objects read-only); returns the original bytes."""
    original = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(original[:100] + b"CORRUPT" + original[107:])
    return original


def _a_model(tracked: list[str]) -> str:
    return next(name for name in tracked if name.endswith("/model.pt"))


@pytest.mark.slow
def test_a_corrupted_file_in_the_remote_is_refused_never_checked_out(versioned):
    project, remote, tracked, digests = versioned
    model = _a_model(tracked)
    stored = _object(remote, project, f"{model}.dvc")
    original = _corrupt(stored)
    try:
        (project / model).unlink()
        shutil.rmtree(project / ".dvc" / "cache")
        result = _dvc(project, "pull", check=False)
        assert result.returncode != 0 and model in result.stdout + result.stderr
        assert not (project / model).exists()  # the wrong bytes never reach the workspace
    finally:
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(original)
    _dvc(project, "pull")
    assert _digests(project, tracked) == digests


@pytest.mark.slow
def test_a_corrupted_file_in_the_cache_is_detected_and_fetched_again(versioned):
    project, _, tracked, digests = versioned
    _dvc(project, "pull")
    model = _a_model(tracked)
    cached = _object(project / ".dvc" / "cache", project, f"{model}.dvc")
    _corrupt(cached)
    (project / model).unlink()
    _dvc(project, "pull")
    assert _digests(project, tracked) == digests
    assert hashlib.md5(cached.read_bytes()).hexdigest() == cached.parent.name + cached.name


@pytest.mark.slow
def test_pull_into_a_clone_with_stale_and_missing_files_restores_them_exactly(versioned, tmp_path):
    project, remote, tracked, digests = versioned
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(project), str(clone))
    _dvc(clone, "remote", "modify", "--local", "local", "url", str(remote))
    stale = [_a_model(tracked), next(name for name in digests if name.endswith("/csi.csv"))]
    for name in stale:  # the rest is missing
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).write_text("stale\n")
    refused = _dvc(clone, "pull", check=False)  # never overwrites what it did not write
    assert refused.returncode != 0 and "--force" in refused.stdout + refused.stderr
    assert all((clone / name).read_text() == "stale\n" for name in stale)
    _dvc(clone, "pull", "--force")
    assert _digests(clone, tracked) == digests


@pytest.mark.slow
def test_metrics_and_plots_read_the_report_across_commits(versioned, tmp_path):
    project = versioned[0]
    results = f"{SMOKE_ROOT.as_posix()}/results"
    dvc_yaml = project / "dvc.yaml"  # the top-level declarations, pointed at the smoke scale's results
    dvc_yaml.write_text(dvc_yaml.read_text().replace("results/", f"{results}/"))
    _git(project, "commit", "-q", "-am", "dvc.yaml on the smoke results")
    shown = _dvc(project, "metrics", "show", "--json").stdout
    rows = json.loads(shown)[""]["data"][f"{results}/table2.json"]["data"]["rows"]
    table = json.loads((project / results / "table2.json").read_text())
    assert list(rows) == list(table["rows"]) and "gru (window)" in rows  # rows.<label>.<field>
    assert all(rows[label]["err_mean"] == row["err_mean"] for label, row in table["rows"].items())
    table["rows"]["gru (window)"]["err_mean"] += 1.0
    (project / results / "table2.json").write_text(json.dumps(table))
    diff = _dvc(project, "metrics", "diff", "HEAD", "--json").stdout
    change = json.loads(diff)[f"{results}/table2.json"]["rows.gru (window).err_mean"]
    assert change["diff"] == pytest.approx(1.0)
    _git(project, "checkout", "--", f"{results}/table2.json")
    out = tmp_path / "plots"
    _dvc(project, "plots", "show", "-o", str(out))
    page = (out / "index.html").read_text()
    assert "error_m" in page and "share" in page and "x_m" in page
