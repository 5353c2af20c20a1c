"""Logging in: discovery (unless the caller already has it), the scope
selection, one grant, and the stored session."""

from __future__ import annotations

from authkit_mcp_cli.client.context import Context, LoginOptions
from authkit_mcp_cli.client.grants.registry import Grant, grant_for
from authkit_mcp_cli.client.issuer_binding import binding_for
from authkit_mcp_cli.client.session import Session, save_session
from authkit_mcp_cli.discovery import Discovered, discover, select_scope
from authkit_mcp_cli.issuers import same_issuer
from authkit_mcp_cli.urls import broader_audience


async def login(ctx: Context, server_url: str, opts: LoginOptions, *, disc: Discovered | None = None, grant: Grant | None = None) -> Session:
    """Discover, obtain tokens with the grant ``opts.grant`` names, and store the login."""
    ctx.store.require_writable()  # before any request that registers a client or spends a code (issue #24 item 1)
    binding = binding_for(opts, ctx.store)  # a pre-registered client goes only to its own AS (issue #20)
    if disc is None:
        disc = await discover(ctx.client, server_url, ctx.policy, prefer_issuer=opts.authkit_domain, browser_flow=opts.browser_flow, binding=binding)
        ctx.report("discover", f"resource {disc.resource}; authorization server {disc.issuer} (metadata {disc.metadata_url or 'none: default endpoints'})")
    elif binding is not None:  # found by the caller (call's retry policy, without the binding): checked before any grant request
        binding.select([disc.issuer], server_url=server_url)
    broader = broader_audience(disc.resource, server_url)
    if broader:  # RFC 9728 §3.3 allows only the exact value at the path-inserted URL; the root document may name a prefix
        ctx.report(
            "discover",
            f"the protected-resource metadata ({disc.prm_url}) names {broader}, an origin or path prefix of {server_url}, not the server itself: the token's audience will be {broader}, so it is also good at every other resource under it",
        )
    for note in disc.notes:  # e.g. which 2025-03-26 fallback found the AS (also when call hands its discovery in)
        ctx.report("discover", note)
    if binding is None and opts.authkit_domain and not same_issuer(opts.authkit_domain, disc.issuer):
        # no pre-registered credential goes anywhere: a new dynamic registration at the server's AS
        ctx.report("warning", f"the server names {disc.issuer} as its authorization server, not the configured {opts.authkit_domain} ({opts.authkit_domain_source or '--authkit-domain'}); registering with the server's")
    scope = select_scope(disc.challenge_scope, disc, opts.scopes)
    reg, tokens = await (grant or grant_for(opts)).obtain(ctx, disc, scope)
    session = Session(server_url, disc.resource, disc.issuer, disc.metadata, reg, tokens)
    save_session(ctx, session)
    return session
