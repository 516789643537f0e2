"""Living with the Supabase CLI: shared migration history, ``adopt``, reverse migrations, ``doctor``.

Nothing in the core pipeline imports this package eagerly: ``service.run`` asks ``run_guard`` for its
hooks, ``validate`` asks ``service`` for extra problems, and the CLI loads the commands lazily.
"""
