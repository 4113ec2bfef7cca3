"""Built-in plugins: ordinary plugins listed in gate.plugins.DEFAULT_PLUGINS."""
