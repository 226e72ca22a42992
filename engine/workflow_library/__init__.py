"""The workflow library's parts; import them from :mod:`engine.library`, which re-exports every public name.

- ``base``: statuses, errors, the change counter and the small helpers over version rows;
- ``names``: which workflow an id or a name means;
- ``saving``: saving versions (``save_workflow``, ``ensure_saved``);
- ``reading``: reading and listing workflows, versions and states;
- ``status``: archiving, restoring and setting a version's status;
- ``diff``: the canonical text of a spec and the diff between two versions.
"""
