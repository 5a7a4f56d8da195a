"""The client commands, one module per noun, mirroring the published CLI's command map."""
