"""Click commands of the ``lockgate`` CLI, one module per family, loaded lazily by ``lockgate.cli``."""
