"""The estate model: schema (``schema``), fast inventory loading (``loader``),
validation (``checks``) and the findings it reports (``problems``).

The model is written once here and used by ``voipctl validate``, the preflight
play (the collection's ``plugins/action/voip_validate.py``) and the filter plugins.
"""
