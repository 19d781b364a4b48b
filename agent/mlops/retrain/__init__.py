"""Retraining from reviewed logs: dataset snapshots, generator and NLU jobs, the promotion gate."""
