"""Rule modules. Every non-underscore module here is imported by ``registry.load_rules()``."""
