"""One module per command: parse options, call the library, render.

Command modules import only typer at module level, so ``atoms-auth --help``
stays fast; the library is imported inside each command.
"""
