"""The model is law: every schema field is applied by a host, documentation only, or pending (#22).

The registries are ``voipctl.model.contract.CONSUMERS``,
``voipctl.model.schema.DOCUMENTATION_ONLY`` and
``voipctl.model.contract.PENDING``; the notation of a field path is
described in voipctl.model.contract.
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

import pytest
from typing_extensions import TypedDict

from voipctl.model import contract, schema

FIELDS = contract.fields()

# Fields known not to be applied by any host yet (#22). It may only shrink:
# apply a field, move it to CONSUMERS and remove it here.
EXPECTED_PENDING: set[str] = set()

# Consumers being written in this session: their references are not checked
# until the code is in. Empty: every consumer's code reads its field.
IN_PROGRESS: frozenset[str] = frozenset()


def test_every_field_is_registered_exactly_once():
    problems = contract.coverage_problems(FIELDS)
    assert not problems, "\n".join(problems)


def test_every_registry_entry_names_a_field_with_a_reason():
    problems = contract.entry_problems(FIELDS)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", sorted(set(contract.CONSUMERS) - IN_PROGRESS))
def test_each_consumer_reads_its_field(path):
    references = contract.CONSUMERS[path]
    problems = contract.reference_problems(path, references, contract.key_terms(path, FIELDS))
    assert not problems, "\n".join(problems)


def test_in_progress_fields_are_registered_consumers():
    assert IN_PROGRESS.issubset(contract.CONSUMERS)


def test_pending_only_shrinks():
    assert set(contract.PENDING) == EXPECTED_PENDING, (
        "contract.PENDING changed: a field applied now belongs in CONSUMERS (and out of EXPECTED_PENDING); "
        "a new field is never pending, apply it or mark it in schema.DOCUMENTATION_ONLY"
    )
    for path, reason in contract.PENDING.items():
        assert reason.startswith("#22: ") and "\n" not in reason, path


def test_documentation_only_is_in_the_schema_module():
    assert schema.DOCUMENTATION_ONLY
    assert all(isinstance(why, str) and why.strip() for why in schema.DOCUMENTATION_ONLY.values())


# --- the check catches what it is for ---------------------------------------


class _Leg(TypedDict):
    cable: str


class _Room(TypedDict):
    name: str
    legs: NotRequired[list[_Leg]]
    tags: dict[str, list[str]]
    kind: Annotated[Literal["a", "b"], "a note"]


class _Estate(TypedDict):
    rooms: dict[str, _Room]
    spare: NotRequired[_Leg | None]


def test_the_walker_names_every_field_by_its_path():
    assert contract.fields({"x_estate": _Estate, "x_site": str, "x_list": list[_Leg]}) == [
        "x_estate.rooms.*.name",
        "x_estate.rooms.*.legs[].cable",
        "x_estate.rooms.*.tags",
        "x_estate.rooms.*.kind",
        "x_estate.spare.cable",
        "x_site",
        "x_list[].cable",
    ]


def test_a_new_field_nobody_registers_fails():
    class Before(TypedDict):
        port: int

    class After(TypedDict):
        port: int
        ring_seconds: NotRequired[int]

    consumers = {"x_phone.port": ("tools/voipctl/adapters/hosts.py::call_servers",)}
    found_in = contract.registries(consumers=consumers, documentation={}, pending={})
    assert contract.coverage_problems(contract.fields({"x_phone": Before}), found_in) == []
    problems = contract.coverage_problems(contract.fields({"x_phone": After}), found_in)
    assert problems == [
        "field x_phone.ring_seconds is read by nothing: consume it (name the consumer in "
        "voipctl.model.contract.CONSUMERS) or mark it in schema.DOCUMENTATION_ONLY "
        "(known to be not applied yet: voipctl.model.contract.PENDING, with its issue)"
    ]


def test_a_field_registered_twice_or_stale_fails():
    found_in = contract.registries(
        consumers={"x.a": ("f.py",), "x.gone": ("f.py",)},
        documentation={"x.a": "why"},
        pending={"x.b": "later"},
    )
    assert contract.coverage_problems(["x.a", "x.b"], found_in) == [
        "field x.a is in voipctl.model.contract.CONSUMERS and voipctl.model.schema.DOCUMENTATION_ONLY: "
        "keep it in one of them"
    ]
    assert contract.entry_problems(["x.a", "x.b"], found_in) == [
        "voipctl.model.contract.CONSUMERS names x.gone, which is not a field of the schema: remove or rename it",
        "voipctl.model.contract.PENDING['x.b'] does not start with its issue: '#22: why'",
    ]


def test_a_consumer_that_does_not_read_the_field_fails():
    path = "voip_numbering.feature_codes"
    references = (
        "tools/voipctl/derive/kamailio/__init__.py::call_server_data",
        "tools/voipctl/derive/kamailio/__init__.py::no_such_function",
        "collections/ansible_collections/voip/estate/roles/no_such_role/defaults/main.yml",
    )
    assert contract.reference_problems(path, references, contract.key_terms(path, FIELDS)) == [
        f"{path}: tools/voipctl/derive/kamailio/__init__.py::call_server_data does not read 'feature_codes': "
        "name the code that reads the field",
        f"{path}: no_such_function is not defined in tools/voipctl/derive/kamailio/__init__.py",
        f"{path}: consumer collections/ansible_collections/voip/estate/roles/no_such_role/defaults/main.yml does not exist",
    ]


def test_an_ambiguous_key_needs_its_parent_too():
    assert contract.key_terms("voip_health_policy.thresholds.disk_used_pct.warning", FIELDS) == [
        "warning",
        "disk_used_pct",
    ]
    assert contract.key_terms("voip_gateway.fxs_ports[].port", FIELDS) == ["port", "fxs_ports"]
    assert contract.key_terms("voip_users[].name", FIELDS) == ["name"]
