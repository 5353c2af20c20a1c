"""``atoms-auth mcp``: doctor, the check catalogue, the stored logins and ``call`` as MCP tools over
stdio, for the coding agent that is fixing an MCP server (issue #27).

- ``server``: the MCPServer, its tools and their descriptions, and the stdio loop;
- ``schemas``: each tool's output schema (the structured content it returns);
- ``results``: a tool's answer: structured content and a short plain-text summary, or an error result
  holding the CLI's ``--json`` error document;
- ``doctor_tool``, ``catalogue``, ``logins``: what each tool does, with the CLI's library code.

Loaded only by ``atoms-auth mcp``: the mcp SDK is never imported by the rest of the CLI's commands.
"""
