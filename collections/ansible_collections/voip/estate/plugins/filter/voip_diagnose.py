"""Diagnose filters: compare one user's rows on a call server with the model's (voipctl user diagnose)."""

from __future__ import annotations

import json

from ansible_collections.voip.estate.plugins.plugin_utils.voip_import_guard import ImportGuard

with ImportGuard() as need_voipctl:
    from voipctl.diagnose import row_drift, user_rows


def voip_user_row_drift(data, actual, extension):
    """What differs between the model's rows of ``extension`` and a call server's (messages, no secret).

    ``data``: the call server's derived data (``voip_kamailio_data`` with its
    tables as JSON strings); ``actual``: the rows read from the server, by
    table (subscribers, aliases, preferences).
    """
    need_voipctl("voip_user_row_drift")
    tables = {}
    for name in ("subscribers", "aliases", "preferences"):
        value = data.get(name) or []
        tables[name] = json.loads(value) if isinstance(value, str) else value
    return row_drift(user_rows(tables, str(extension)), actual or {})


class FilterModule:
    def filters(self):
        return {"voip_user_row_drift": voip_user_row_drift}
