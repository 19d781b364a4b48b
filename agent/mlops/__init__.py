"""MLOps: retraining from reviewed logs and the model registry that serves and swaps versions."""
