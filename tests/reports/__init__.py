"""Report tests: every figure checked against a small book worked out by hand."""
