"""The code MLflow runs to build a run's logged model (models from code, no pickle):
:class:`lofi.train.mlflow_model.WindowModel`."""

from mlflow.models import set_model

from lofi.train.mlflow_model import WindowModel

set_model(WindowModel())
