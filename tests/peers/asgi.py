"""Run an ASGI app with uvicorn on an ephemeral loopback port, in a thread:
the product's own helper (the socket is bound first, TCP_NODELAY set), so the
tests serve apps exactly as atoms-auth does."""

from authkit_mcp_cli.server.runner import asgi_in_thread as serve_asgi

__all__ = ["serve_asgi"]
