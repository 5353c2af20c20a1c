"""Compatibility seams: the only modules that touch private names of the libraries atoms-auth runs on
(issue #21, "Plain seams"). Each name is reached defensively, with a documented fallback for a
release that renames or drops it; tests/unit/test_private_names.py pins that no other module
mentions one, and simulates each one missing.

    typer_private.py    typer's vendored click, its completion classes, its coercion hook
    mcp_private.py      the MCP SDK's session manager's lifespan state (serve's --stateless fast path)
    uvicorn_private.py  two private methods of uvicorn's httptools protocol (serve's request limits)
"""
