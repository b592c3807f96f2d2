"""The MLflow ``pyfunc`` of a saved rater. MLflow runs this file when it loads a model that
``raters.mlflow_model`` saved (MLflow's "models from code"), so loading one unpickles nothing.

    model = mlflow.pyfunc.load_model("models:/quality/1")              # or runs:/..., or a local folder
    model.predict(pd.DataFrame({"text": ["A document.", "Another."]}))  # one score column, NaN if unscorable

``model_config`` chooses where torch raters score: ``mlflow.pyfunc.load_model(uri, model_config={"device":
"cuda", "batch_size": 64})`` (defaults: cpu, 32). The rater folder is the model's ``rater`` artifact.
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class RaterModel(PythonModel):
    """Scores the ``text`` column of a DataFrame with the rater in the model's ``rater`` artifact."""

    def load_context(self, context) -> None:
        from raters.text_scorer import load_scorer

        config = context.model_config or {}
        self.scorer = load_scorer(
            context.artifacts["rater"],
            device=str(config.get("device", "cpu")),
            batch_size=int(config.get("batch_size", 32)),
        )

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        texts = [None if text is None or text != text else str(text) for text in model_input["text"]]  # NaN: none
        return pd.DataFrame({self.scorer.column: self.scorer.score(texts)}, index=model_input.index)


mlflow.models.set_model(RaterModel())
