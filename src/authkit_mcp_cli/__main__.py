from authkit_mcp_cli.cli import main

main()
