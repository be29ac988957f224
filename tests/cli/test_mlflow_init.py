"""`lofi mlflow-init` creates the store and the experiment once; a second call finds them."""

from __future__ import annotations

from lofi.cli import main


def test_mlflow_init_is_idempotent(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["--root", str(tmp_path), "mlflow-init"]) == 0
    first = capsys.readouterr().out
    assert main(["--root", str(tmp_path), "mlflow-init"]) == 0
    assert capsys.readouterr().out == first and "has id" in first
    assert (tmp_path / "mlflow.db").is_file()
    assert (tmp_path / "mlflow.db.lock").is_file()  # two inits at once take turns on it
    assert not (tmp_path / "mlruns").exists()
