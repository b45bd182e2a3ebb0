"""`python -m mxprobe` runs the same entry point as the `mxprobe` console script."""

from mxprobe.cli import main

main()
