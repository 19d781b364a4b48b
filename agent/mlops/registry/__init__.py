"""Model registry: every trained NLU and generator version, which one serves, hot swaps, and the
store (a folder or S3) versions are pushed to and pulled from."""
