"""Built-in science plugins, registered through the same hooks as third-party packages."""
