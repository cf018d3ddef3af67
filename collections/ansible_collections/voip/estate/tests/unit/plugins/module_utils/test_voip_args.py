"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_args: large list arguments as JSON, validated as Ansible validates them."""

from __future__ import annotations

import copy
import json

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

import ansible_collections.voip.estate.plugins.module_utils.voip_phone_files as phone_files
from ansible_collections.voip.estate.plugins.module_utils.voip_args import (
    ArgumentError,
    _plain_rows,
    validate_list,
)

PHONE = {
    "mac": "805ec0102001", "vendor": "yealink", "model": "T54W", "extension": "2001",
    "account": {"username": "2001", "password": "pw-secret-1", "domain": "ams.lab", "registrar": "10.0.0.11"},
    "ntp_servers": ["10.0.0.31"], "voice_vlan": 110, "timezone": None,
    "line_keys": [{"extension": "2002", "label": "Two"}],
}  # fmt: skip


def reference(value):
    result = ArgumentSpecValidator(phone_files.PHONES_SPEC).validate({"phones": copy.deepcopy(value)})
    assert not result.error_messages, result.error_messages
    return result.validated_parameters["phones"], result._no_log_values


@pytest.mark.parametrize(
    "phones",
    [
        [PHONE],
        [PHONE, {**PHONE, "mac": "805ec0102002", "firmware": {"version": "96.86"}, "line_keys": []}],
        [{k: v for k, v in PHONE.items() if k not in ("ntp_servers", "line_keys", "timezone")}],
        # A site's call servers (the second's port left to its default).
        [
            {
                **PHONE,
                "account": {
                    **PHONE["account"],
                    "servers": [{"address": "10.0.0.11", "port": 5060}, {"address": "10.0.0.13"}],
                },
            }
        ],
    ],
)
def test_nested_plain_rows_take_the_fast_path_with_the_validators_result(phones):
    fast = _plain_rows(copy.deepcopy(phones), phone_files.PHONES_SPEC["phones"]["options"])
    assert fast is not None
    assert fast == reference(phones)
    assert validate_list(json.dumps(phones), "phones", phone_files.PHONES_SPEC) == reference(phones)


@pytest.mark.parametrize(
    "change",
    [
        {"voice_vlan": "110"},  # a conversion: Ansible's
        {"extension": 2001},
        {"vendor": "acme"},  # an error: Ansible's words
        {"account": {"username": "2001"}},
        {"line_keys": [{"label": "no extension"}]},
        {"bogus": 1},
        {"account": None},
    ],
)
def test_anything_else_goes_to_ansibles_validator(change):
    phones = [{**PHONE, **change}]
    assert _plain_rows(copy.deepcopy(phones), phone_files.PHONES_SPEC["phones"]["options"]) is None
    result = ArgumentSpecValidator(phone_files.PHONES_SPEC).validate({"phones": copy.deepcopy(phones)})
    if result.error_messages:
        with pytest.raises(ArgumentError):
            validate_list(phones, "phones", phone_files.PHONES_SPEC)
    else:
        assert (
            validate_list(phones, "phones", phone_files.PHONES_SPEC)[0]
            == result.validated_parameters["phones"]
        )
