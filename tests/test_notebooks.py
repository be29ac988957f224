"""The notebooks in notebooks/: committed without outputs (fast), run top to bottom (slow).

The slow tests execute each notebook with nbclient on an ipykernel of this interpreter (a
kernelspec written to a temporary JUPYTER_PATH, so no user or system ``python3`` kernel is used
instead): on the smoke pipeline's outputs (``smoke_project``), and on a project with nothing run
yet, where every section must say what is missing instead of failing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from tests.smoke_project import ROOT, SMOKE_CONFIG, SMOKE_ROOT

NOTEBOOKS = ROOT / "notebooks"
LABEL_QUALITY = NOTEBOOKS / "01_label_quality.ipynb"
RESULTS = NOTEBOOKS / "02_results.ipynb"
KERNEL = "lofi-test-python"


def committed(path: Path) -> str:
    """The text git would commit of ``path``: its staged version (after any clean filter, such as
    nbstripout's) where git tracks it, else the file itself. A notebook run in place with the
    nbstripout filter installed is committed stripped, so only what git holds is checked."""
    relative = path.relative_to(ROOT).as_posix()
    try:
        staged = subprocess.run(
            ["git", "show", f":{relative}"], cwd=ROOT, capture_output=True, text=True, check=False
        )
    except OSError:  # no git
        return path.read_text()
    return staged.stdout if staged.returncode == 0 else path.read_text()


def test_the_notebooks_are_there():
    assert LABEL_QUALITY.is_file() and RESULTS.is_file()


@pytest.mark.parametrize(
    "path", sorted({LABEL_QUALITY, RESULTS, *NOTEBOOKS.glob("*.ipynb")}), ids=lambda p: p.name
)
def test_committed_notebooks_are_stripped(path):
    text = committed(path)
    notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code"
    for cell in code:
        assert cell.outputs == [], f"{path.name}: a cell has outputs: {cell.source[:60]!r}"
        assert cell.execution_count is None, f"{path.name}: a cell has an execution count"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    # the nbstripout git filter (`nbstripout --install`) would commit it unchanged
    stripped = subprocess.run(
        [sys.executable, "-m", "nbstripout"], input=text, capture_output=True, text=True, check=True
    )
    assert stripped.stdout == text, f"{path.name}: nbstripout would change it (run nbstripout on it)"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory) -> str:
    """A kernelspec for this interpreter, found first by jupyter_client (JUPYTER_PATH)."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(jupyter))
        yield KERNEL


def execute(path: Path, root: Path, scale: Path, kernel: str, cwd: Path, monkeypatch) -> tuple[str, int]:
    """Run the notebook on ``root``/``scale`` (a cell error fails the test); returns everything it
    printed or displayed as text, and how many images it showed."""
    from nbclient import NotebookClient

    monkeypatch.setenv("LOFI_NOTEBOOK_ROOT", str(root))
    monkeypatch.setenv("LOFI_NOTEBOOK_SCALE", scale.as_posix())
    for name in ("MLFLOW_TRACKING_URI", "LOFI_NOTEBOOK_EXPERIMENT", "LOFI_ROOT"):
        monkeypatch.delenv(name, raising=False)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint('kernel:', sys.executable)"))
    client = NotebookClient(
        notebook, timeout=600, kernel_name=kernel, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()  # raises CellExecutionError on the first cell that fails
    text, images = [], 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", output
            if output.output_type == "stream":
                text.append(output.text)
            data = output.get("data", {})
            text += [data[kind] for kind in ("text/plain", "text/markdown") if kind in data]
            images += "image/png" in data
    text = "\n".join(text)
    assert f"kernel: {sys.executable}" in text  # the venv's interpreter ran the notebook
    return text, images


@pytest.mark.slow
def test_label_quality_notebook_on_the_smoke_outputs(smoke_project, kernel, tmp_path, monkeypatch):
    text, images = execute(LABEL_QUALITY, smoke_project, SMOKE_ROOT, kernel, tmp_path, monkeypatch)
    assert "best at the surveyed points: bgsub" in text
    assert "2 walking sessions" in text  # per-frame errors agree with the stage's scores (asserted inside)
    for session in ("lab_walk_S1", "lab_walk_S2"):
        assert session in text
    # comparison, floor maps, distance, CDF, and the pipeline's two figures
    assert images >= 6
    assert not list(tmp_path.iterdir()), "the notebook wrote into its working folder"


@pytest.mark.slow
def test_results_notebook_on_the_smoke_outputs(smoke_project, kernel, tmp_path, monkeypatch):
    text, images = execute(RESULTS, smoke_project, SMOKE_ROOT, kernel, tmp_path, monkeypatch)
    table = json.loads((smoke_project / SMOKE_ROOT / "results" / "table2.json").read_text())
    if isinstance(table["rows"], dict):  # label -> record
        table["rows"] = [{"label": label, **record} for label, record in table["rows"].items()]
    runs = sorted(
        p.parent.name for p in (smoke_project / SMOKE_ROOT / "results" / "runs").glob("*/metrics.json")
    )
    assert "experiment: lofi-smoke" in text
    assert f"{len(runs)} runs in experiment lofi-smoke" in text  # MLflow holds every run, pre-training too
    # every Table II row printed with its error, every model of the smoke configuration among them
    for row in table["rows"]:
        assert f"{row['label']}: {row['err_mean']:.3f} m vs labels" in text
    train = yaml.safe_load((ROOT / "conf" / "pipeline.yaml").read_text())["train"]
    train |= yaml.safe_load((ROOT / SMOKE_CONFIG).read_text()).get("train", {})
    assert {row["model"] for row in table["rows"]} == {*train["models"], *train["baselines"]}
    assert {"gru (trained on truth, window)", "knn (trained on truth, none)"} <= {
        r["label"] for r in table["rows"]
    }
    for cost in table["labels_cost"]:  # the truth-label gap, as the report computed it
        assert f"{cost['model']} ({cost['normalize']}, {cost['split']}): {cost['cost_m']:+.3f} m" in text
    assert "S1" in text and "S2" in text  # errors per subject, from the manifest
    # CDF, per subject, label vs model error, its floor maps, the labels' cost, the report's 4 figures
    assert images >= 9
    assert not list(tmp_path.iterdir()), "the notebook wrote into its working folder"


@pytest.mark.slow
@pytest.mark.parametrize("path", [LABEL_QUALITY, RESULTS], ids=lambda p: p.name)
def test_notebooks_on_a_project_with_nothing_run(path, kernel, tmp_path, monkeypatch):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "conf", project / "conf")
    text, images = execute(path, project, Path("."), kernel, tmp_path, monkeypatch)
    assert images == 0
    assert "not there" in text
