"""The REST API and admin dashboard (``lockgate serve``): the only package that imports the web framework.

Install with the ``server`` extra. The door is thin: endpoints call ``lockgate.service`` exactly as the CLI
does, and answer with the documents of ``lockgate.report``.
"""
