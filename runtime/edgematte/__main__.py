"""`python -m edgematte`: the same command as `edgematte`."""

from edgematte.cli import main

main()
