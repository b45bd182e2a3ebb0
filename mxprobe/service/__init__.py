"""The service layer: runs what a command asks (a probe, the checks of `explain --check`, the plan of a
report) and returns data. Nothing here prints or parses flags: the CLI parses, a service runs, a renderer
draws."""
