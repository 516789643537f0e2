"""The GitHub Action door: event payload -> mode -> pipeline -> annotations, job summary, PR comment.

The only package that imports PyGithub (lazily, in ``client``), so ``lockgate lint`` never pays for it.
``action.yml`` runs ``lockgate github mask``, ``lockgate github run`` and ``lockgate github comment``;
all behaviour lives here, where it is typed and tested, and none in YAML.
"""
