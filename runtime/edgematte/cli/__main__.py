"""`python -m edgematte.cli`: the same as the `edgematte` command."""

from edgematte.cli import main

main()
