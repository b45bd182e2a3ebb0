"""The bodies of mxprobe's sub-commands: flags in, library calls, a renderer out (wired in mxprobe/cli.py)."""
