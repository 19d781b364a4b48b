"""Model registry: every trained NLU and generator version, which one serves, and hot swaps."""
