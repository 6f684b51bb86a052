"""Booth-software plugins: thin adapters over the public still path (`edgematte.Session`).

- `pibooth_plugin`: a pibooth plugin (entry point group `pibooth`). Each capture is cut out in
  a worker thread while pibooth counts down to the next one, then put on the configured
  background before the final picture is assembled.
- `edgematte_filter`: a photobooth-app filter plugin (entry point group `photobooth11`). The
  module's name is the host's contract: photobooth-app instantiates the class named after it
  (`EdgematteFilter`), and guests see its filters as `EdgematteFilter.<background>`.

Each module imports its host at the top, so import it only inside that host (or a test that
has it installed). This package itself imports nothing.
"""
