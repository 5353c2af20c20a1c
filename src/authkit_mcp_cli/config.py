"""Configuration: flags > environment > ``.env`` in the working directory.

The variable names are the integration guide's, so a project already set up
for FastMCP's AuthKitProvider works without changes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.urls import parse_target_url

ENV_AUTHKIT_DOMAIN = "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN"
ENV_BASE_URL = "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL"
ENV_REQUIRED_SCOPES = "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_REQUIRED_SCOPES"
ENV_HTTP_PATH = "ATOMS_FASTMCP_HTTP_PATH"
ENV_CLIENT_ID = "WORKOS_CLIENT_ID"
ENV_API_KEY = "WORKOS_API_KEY"  # read by nothing here; never printed
DEFAULT_HTTP_PATH = "/api/mcp"


def parse_dotenv(text: str) -> dict[str, str]:
    """The values a ``.env`` gives, read exactly as the guide's server reads them (python-dotenv)."""
    import io

    from dotenv import dotenv_values

    # interpolate as load_dotenv does by default (${VAR} from the file itself and the environment)
    return {key: value for key, value in dotenv_values(stream=io.StringIO(text)).items() if value is not None}


def load_environment(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``.env`` values overlaid by the real environment (which wins)."""
    env_file = (cwd or Path.cwd()) / ".env"
    merged: dict[str, str] = {}
    try:
        merged.update(parse_dotenv(env_file.read_text(encoding="utf-8")))
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Could not read {env_file}: {exc}.", hint="Fix or remove the .env file.") from None
    merged.update(os.environ if environ is None else environ)
    return merged


@dataclass(frozen=True)
class Target:
    """What to check or talk to: the MCP endpoint and/or the AS issuer."""

    server_url: str | None
    authkit_domain: str | None
    required_scopes: tuple[str, ...] = ()
    server_source: str | None = None  # "flag" or the variable names it came from
    domain_source: str | None = None


def resolve_target(server: str | None, authkit_domain: str | None, env: Mapping[str, str]) -> Target:
    """The MCP endpoint and AS issuer from flags, else the guide's variables in ``env``; URLs validated."""
    server_source = domain_source = None
    if server:
        server_source = "--server"
    elif env.get(ENV_BASE_URL):
        path = env.get(ENV_HTTP_PATH) or DEFAULT_HTTP_PATH
        server = env[ENV_BASE_URL].rstrip("/") + "/" + path.lstrip("/")
        server_source = f"{ENV_BASE_URL} + {ENV_HTTP_PATH}"
    if authkit_domain:
        domain_source = "--authkit-domain"
    elif env.get(ENV_AUTHKIT_DOMAIN):
        authkit_domain = env[ENV_AUTHKIT_DOMAIN]
        domain_source = ENV_AUTHKIT_DOMAIN
    scopes = tuple(s for s in (env.get(ENV_REQUIRED_SCOPES) or "").replace(" ", ",").split(",") if s)
    return Target(
        server_url=parse_target_url(server, what="MCP server URL", flag="--server") if server else None,
        authkit_domain=parse_target_url(authkit_domain, what="AuthKit domain", flag="--authkit-domain") if authkit_domain else None,
        required_scopes=scopes,
        server_source=server_source,
        domain_source=domain_source,
    )
