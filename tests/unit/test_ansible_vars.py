"""voipctl.adapters.vars.plain against Ansible's real lazy containers, as a filter receives them."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import filter_loader
from ansible.template import Templar, trust_as_template

from voipctl.adapters.vars import plain

ROOT = Path(__file__).resolve().parents[2]

# A filter that reports what it was handed and what plain() makes of it.
PROBE = """
from voipctl.adapters.vars import plain


def probe(value):
    out = plain(value)
    return {"given": type(value).__name__, "plain": type(out).__name__, "value": out}


class FilterModule:
    def filters(self):
        return {"probe_plain": probe}
"""

USERS = [
    {"id": "mjansen", "site": "ams", "extension": 2001, "name": "M. Jansen", "devices": [{"mac": "00:04:f2:00:00:01"}]},
    {"id": "pdevries", "site": "ams", "extension": 2002, "name": "P. de Vries", "status": "leaver"},
    {"id": "rahmadi", "site": "thr", "extension": 3001, "name": "R. Ahmadi"},
]  # fmt: skip


@pytest.fixture(scope="module")
def templar(tmp_path_factory):
    plugins = tmp_path_factory.mktemp("filters")
    (plugins / "probe_plain.py").write_text(PROBE)
    filter_loader.add_directory(str(plugins))
    filter_loader.add_directory(str(ROOT / "collections/ansible_collections/voip/estate/plugins/filter"))

    def render(expression, **variables):
        return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))

    return render


def test_plain_data_is_returned_as_is():
    assert plain(USERS) is USERS
    assert plain("text") == "text"
    assert plain(None) is None


def test_a_lazy_list_without_templates_comes_back_as_its_raw_list(templar):
    out = templar("{{ users | probe_plain }}", users=USERS)
    assert out["given"] == "_AnsibleLazyTemplateList"
    assert out["plain"] == "list"
    assert out["value"] == USERS


def test_a_lazy_list_holding_a_template_stays_lazy_and_is_rendered(templar):
    users = [*USERS[:2], {**USERS[2], "name": trust_as_template("{{ 'R.' }} Ahmadi")}]
    out = templar("{{ users | probe_plain }}", users=users)
    assert out["plain"] == "_AnsibleLazyTemplateList"
    assert out["value"][2]["name"] == "R. Ahmadi"


@pytest.mark.parametrize("marker", ["{{ x }}", "{% if x %}{% endif %}", "{# note #}"])
def test_any_template_marker_deep_in_the_data_keeps_the_lazy_path(templar, marker):
    users = [{**USERS[0], "devices": [{"mac": "00:04:f2:00:00:01", "label": marker}]}]
    out = templar("{{ users | probe_plain }}", users=users)
    assert out["plain"] == "_AnsibleLazyTemplateList"


def test_a_lazy_dict_without_templates_comes_back_as_its_raw_dict(templar):
    sites = {"ams": {"extensions": "2000-2999"}, "thr": {"extensions": "3000-3999"}}
    out = templar("{{ sites | probe_plain }}", sites=sites)
    assert (out["given"], out["plain"]) == ("_AnsibleLazyTemplateDict", "dict")
    assert out["value"] == sites


def test_the_model_filters_give_the_same_result_either_way(templar):
    """voip_health_expected_users on plain data and on data holding a template: same counts, the template rendered."""
    templated = [*USERS[:2], {**USERS[2], "site": trust_as_template("{{ 'thr' }}")}]
    for users in (USERS, templated):
        assert templar("{{ users | voip_health_expected_users }}", users=users) == {"ams": 1, "thr": 1}
